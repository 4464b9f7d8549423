#!/bin/sh
# The image's entry point (Containerfile):
#   serve [ARGS]      the registry's champion on 0.0.0.0:$PORT (python -m
#                     student_performance.serving; MLFLOW_TRACKING_URI names the store)
#   kedro ARGS        any Kedro command from the project folder (/app), e.g. kedro run
#   anything else     run as given
set -e
case "${1:-serve}" in
    serve)
        [ $# -gt 0 ] && shift
        exec python -m student_performance.serving --project /app --host 0.0.0.0 \
            --port "${PORT:-8000}" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
