"""`manage.py templates sync DIR [--dry-run]`: DAG templates from JSON files (kept in git).

Layout: DIR/<platform>/<name>.json (files directly in DIR belong to no platform, or to
--platform). Every file is validated before anything is saved; one invalid file saves
nothing, and so does a dag_id pattern that another template of the platform (stored or in
DIR) already uses. Saving materializes each template for every account of its platform.
--dry-run prints each diff, the DAGs saving would change and the DAGs it would create.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ingestion.dagspec import TemplateInvalid, dag_id_pattern_key


class Command(BaseCommand):
    help = "Create or update DAG templates from JSON files."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("sync", help="create or update templates from DIR/<platform>/<name>.json")
        p.add_argument("directory", type=Path)
        p.add_argument("--dry-run", action="store_true", help="print diffs and affected DAGs, change nothing")
        p.add_argument("--platform", default="", help="platform of the files directly in DIRECTORY")

    def handle(self, *args, **options):
        from ingestion.services.templates import template_diff, template_save, template_validate

        root: Path = options["directory"]
        if not root.is_dir():
            raise CommandError(f"{root} is not a directory")
        files = sorted(root.glob("*.json")) + sorted(root.glob("*/*.json"))
        if not files:
            raise CommandError(f"no *.json templates in {root} or its platform folders")
        loaded, errors = [], []
        patterns: dict[tuple[str, str], Path] = {}
        for path in files:
            platform = path.parent.name if path.parent != root else options["platform"]
            try:
                spec = json.loads(path.read_text())
                parsed = template_validate(spec=spec, platform=platform, name=path.stem)
            except (json.JSONDecodeError, TemplateInvalid) as exc:
                errors.append(f"{path}: {exc}")
                continue
            first = patterns.setdefault((platform, dag_id_pattern_key(parsed.dag_id)), path)
            if first != path:
                errors.append(f"{path}: dag_id: the pattern {parsed.dag_id!r} is also used by {first}")
                continue
            loaded.append((platform, path.stem, spec, path))
        if errors:
            raise CommandError("nothing saved; invalid templates:\n" + "\n".join(errors))
        if options["dry_run"]:
            for platform, name, spec, _path in loaded:
                plan = template_diff(platform=platform, name=name, spec=spec)
                self.stdout.write(
                    f"== {platform or '-'}/{name} ({path}): {'unchanged' if not plan.diff else 'would change'}"
                )
                if plan.diff:
                    self.stdout.write(plan.diff)
                    self.stdout.write(
                        f"DAGs that would change ({len(plan.changed_dags)}): {', '.join(plan.changed_dags) or 'none'}"
                    )
                self.stdout.write(
                    f"DAGs that would be created ({len(plan.created_dags)}): {', '.join(plan.created_dags) or 'none'}"
                )
            self.stdout.write("dry run: nothing saved")
            return
        try:
            with transaction.atomic():
                for platform, name, spec, _path in loaded:
                    result = template_save(platform=platform, name=name, spec=spec)
                    status = "created" if result.created else ("updated" if result.changed else "unchanged")
                    rerendered = len(result.dags) - len(result.created_dags)
                    self.stdout.write(
                        f"{platform or '-'}/{name}: {status} (v{result.template.version}); "
                        f"{len(result.created_dags)} DAGs created, {rerendered} re-materialized"
                    )
        except TemplateInvalid as exc:  # a clash with a template saved earlier in this batch
            raise CommandError(f"nothing saved; {platform or '-'}/{name} ({path}): {exc}") from None
