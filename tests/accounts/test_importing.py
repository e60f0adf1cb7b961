"""ad_accounts_import: idempotent upsert into the credential's organization, DAGs materialized."""

import pytest

from accounts.models import AdAccount
from accounts.services.importing import AccountOfOtherOrganization, ad_accounts_import
from connectors.base import AccountInfo
from ingestion.models import Dag
from tests.accounts.factories import CredentialFactory, dag_template

pytestmark = pytest.mark.django_db


def _info(external_id, name="Shop", tz="Asia/Shanghai"):
    return AccountInfo(
        external_id=external_id,
        name=name,
        currency="CNY",
        timezone=tz,
        status="active",
        raw={"advertiser_id": external_id},
    )


def test_import_twice_updates_in_place_and_makes_dags_once():
    dag_template("sandbox")
    credential = CredentialFactory()
    first = ad_accounts_import(
        credential=credential, accounts=[_info("11"), _info("12"), _info("13")], external_ids=["11", "13"]
    )
    assert sorted(a.external_id for a in first) == ["11", "13"]
    assert Dag.objects.filter(ad_account__in=first).count() == 2
    dag_ids = set(Dag.objects.values_list("dag_id", flat=True))
    assert dag_ids == {"11_accounts_test", "13_accounts_test"}

    again = ad_accounts_import(
        credential=credential, accounts=[_info("11", name="Shop renamed", tz="UTC")], external_ids=["11"]
    )
    assert [a.pk for a in again] == [first[0].pk if first[0].external_id == "11" else first[1].pk]
    account = AdAccount.objects.get(external_id="11")
    assert (account.name, account.timezone, account.organization_id) == (
        "Shop renamed",
        "UTC",
        credential.organization_id,
    )
    assert AdAccount.objects.count() == 2 and Dag.objects.count() == 2
    assert Dag.objects.get(ad_account=account).timezone == "UTC"


def test_an_account_of_another_organization_is_not_taken_over():
    dag_template("sandbox")
    ours, theirs = CredentialFactory(), CredentialFactory()
    ad_accounts_import(credential=theirs, accounts=[_info("21", name="Theirs")])
    with pytest.raises(
        AccountOfOtherOrganization, match=r"sandbox account 21 .* is imported into another organization"
    ):
        ad_accounts_import(credential=ours, accounts=[_info("20"), _info("21")])
    # all or nothing: the first account of the failed import was not kept either
    assert list(AdAccount.objects.values_list("external_id", "organization_id")) == [("21", theirs.organization_id)]
