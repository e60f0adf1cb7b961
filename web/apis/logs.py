"""Task logs: one try's text from an offset, for live tail (poll with `next_offset`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from web import engine, selectors
from web.apis.common import get_scoped


class TaskLogApi(APIView):
    class InputSerializer(serializers.Serializer):
        try_number = serializers.IntegerField(required=False, min_value=1, help_text="default: the latest try")
        offset = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=2**62,
            default=0,
            help_text="where to continue: the previous answer's next_offset (0 = from the start)",
        )

    class OutputSerializer(serializers.Serializer):
        task_instance = serializers.IntegerField()
        try_number = serializers.IntegerField()
        offset = serializers.IntegerField()
        next_offset = serializers.IntegerField()
        text = serializers.CharField(allow_blank=True)
        finished = serializers.BooleanField(help_text="the try is over: no more text will come")
        state = serializers.CharField()

        class Meta:
            ref_name = "TaskLogChunk"

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request, pk: int):
        ti = get_scoped(selectors.task_instances_for_user(request.user), pk)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try_number = params.validated_data.get("try_number") or max(ti.try_number, 1)
        if try_number > max(ti.try_number, 1):
            raise NotFound(f"task instance {ti.pk} has no try {try_number} (latest: {ti.try_number})")
        offset = params.validated_data["offset"]
        chunk = engine.read_log(task_instance=ti, try_number=try_number, offset=offset)
        return Response(
            self.OutputSerializer(
                {
                    "task_instance": ti.pk,
                    "try_number": try_number,
                    "offset": offset,
                    "next_offset": chunk.next_offset,
                    "text": chunk.text,
                    "finished": chunk.finished,
                    "state": ti.state,
                }
            ).data
        )
