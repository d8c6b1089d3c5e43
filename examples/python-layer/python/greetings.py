"""A dependency shipped as a layer: python/ in a layer zip is on sys.path.

    cd examples/python-layer && zip -qr ../greetings-layer.zip python
    mkdir MNT/layers/greetings && cp ../greetings-layer.zip MNT/layers/greetings/layer.zip
    echo '{"Layers": ["greetings"]}' > MNT/functions/uses-layer/config.json
"""


def greet(name):
    return f"greetings, {name}, from a layer"
