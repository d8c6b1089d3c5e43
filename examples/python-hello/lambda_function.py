"""A python function: greets, logs, and shows the context object.

    cd examples/python-hello && zip -q ../hello.zip lambda_function.py
    mkdir MNT/functions/hello && cp ../hello.zip MNT/functions/hello/code.zip
    echo '{"name": "world"}' > MNT/functions/hello/invoke && cat MNT/functions/hello/invoke
"""
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    name = event.get("name", "stranger") if isinstance(event, dict) else "stranger"
    logger.info("greeting %s", name)
    print(f"remaining {context.get_remaining_time_in_millis()} ms")
    if name == "error":
        raise ValueError("no greeting for 'error'")
    return {
        "greeting": f"hello {name}",
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "memory": context.memory_limit_in_mb,
        "region": os.environ.get("AWS_REGION"),
    }
