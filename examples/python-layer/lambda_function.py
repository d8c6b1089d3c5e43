"""A function that imports its dependency from a layer (see python/greetings.py)."""
import greetings


def lambda_handler(event, context):
    return {"message": greetings.greet(event.get("name", "you"))}
