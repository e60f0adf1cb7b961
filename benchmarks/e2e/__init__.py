"""The shared pieces of `python -m benchmarks airflow_e2e`: the task both systems run
(`work`), the row sink both write to (`sink`), our operator for it (`operator`) and the
settings our processes run with (`settings`)."""
