"""control_plane.py ADDR MNT WORK - every control-plane operation of the
Lambda HTTP API through boto3, each checked against the mount (same
store), and every error shape as the exception class boto3 raises.
Run by tests/integration/t600-http-control-plane.sh."""
import json
import os
import urllib.request

from httptap import (PY_ECHO, args, boto, done, eq, exists, make_zip, ok,
                     raises, read)

addr, mnt, work = args()
lam = boto("lambda", addr)
fns = os.path.join(mnt, "functions")
ROLE = "arn:aws:iam::000000000000:role/lambda"
echo_zip = make_zip({"lambda_function.py": PY_ECHO})

# --- CreateFunction, then the mount has it ---
r = lam.create_function(
    FunctionName="b1", Runtime="python3.11", Role=ROLE,
    Handler="lambda_function.handler", Code={"ZipFile": echo_zip},
    Timeout=20, Description="made by boto3",
    Environment={"Variables": {"STAGE": "dev"}})
eq(r["ResponseMetadata"]["HTTPStatusCode"], 201, "CreateFunction: 201")
eq((r["FunctionName"], r["State"], r["Timeout"], r["Runtime"]),
   ("b1", "Active", 20, "python3.11"), "CreateFunction: configuration")
eq(r["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:b1",
   "CreateFunction: FunctionArn")
ok(exists(os.path.join(fns, "b1", "config.json")),
   "created over HTTP: functions/b1 is in the mount at once")
eq(read(os.path.join(fns, "b1", "code.zip")), echo_zip,
   "the mount's code.zip is the uploaded zip, byte for byte")
mconf = json.load(open(os.path.join(fns, "b1", "config.json")))
g = lam.get_function_configuration(FunctionName="b1")
eq((g["CodeSha256"], g["Description"], g["Environment"]),
   (mconf["CodeSha256"], "made by boto3", {"Variables": {"STAGE": "dev"}}),
   "GetFunctionConfiguration: what config.json shows")

# --- an Image function: GetFunction shows its ImageUri ---
r = lam.create_function(FunctionName="img1", Role=ROLE, PackageType="Image",
                        Code={"ImageUri": "lambdafs-test/fn:1"})
eq(r["PackageType"], "Image", "CreateFunction with ImageUri: PackageType Image")
gi = lam.get_function(FunctionName="img1")["Code"]
eq((gi.get("RepositoryType"), gi.get("ImageUri")), ("ECR", "lambdafs-test/fn:1"),
   "GetFunction: Code.ImageUri of an Image function")
lam.delete_function(FunctionName="img1")

# --- GetFunction with a Code.Location that serves the zip ---
gf = lam.get_function(FunctionName="b1")
eq(gf["Configuration"]["FunctionName"], "b1", "GetFunction: Configuration")
eq(gf["Code"]["RepositoryType"], "S3", "GetFunction: Code.RepositoryType")
with urllib.request.urlopen(gf["Code"]["Location"], timeout=30) as u:
    eq(u.read(), echo_zip, "GetFunction: Code.Location serves the zip")
for ref in ("arn:aws:lambda:us-east-1:000000000000:function:b1",
            "000000000000:function:b1", "b1:$LATEST"):
    eq(lam.get_function(FunctionName=ref)["Configuration"]["FunctionName"],
       "b1", "GetFunction by %s" % ref)

# --- Invoke ---
r = lam.invoke(FunctionName="b1", Payload=b'{"x": 1}')
eq((r["StatusCode"], r["Payload"].read()), (200, b'{"x": 1}'),
   "Invoke: the function's answer")

# --- UpdateFunctionConfiguration, seen by the mount ---
r = lam.update_function_configuration(FunctionName="b1", Timeout=30,
                                      MemorySize=256)
eq((r["Timeout"], r["MemorySize"]), (30, 256),
   "UpdateFunctionConfiguration: answer")
mconf = json.load(open(os.path.join(fns, "b1", "config.json")))
eq((mconf["Timeout"], mconf["MemorySize"], mconf["Description"]),
   (30, 256, "made by boto3"),
   "UpdateFunctionConfiguration: config.json has it, other keys kept")

# --- UpdateFunctionCode ---
v2 = make_zip({"lambda_function.py":
               "def handler(event, context):\n    return {'v': 2}\n"})
r = lam.update_function_code(FunctionName="b1", ZipFile=v2)
eq((r["CodeSize"], r["LastUpdateStatus"]), (len(v2), "Successful"),
   "UpdateFunctionCode: answer")
eq(read(os.path.join(fns, "b1", "code.zip")), v2,
   "UpdateFunctionCode: the mount's code.zip is the new zip")
r = lam.invoke(FunctionName="b1", Payload=b"{}")
eq(r["Payload"].read(), b'{"v": 2}', "UpdateFunctionCode: new code runs")
raises(lambda: lam.update_function_code(FunctionName="b1",
                                        ZipFile=b"not a zip at all"),
       "InvalidParameterValueException",
       "UpdateFunctionCode with a bad zip: InvalidParameterValueException",
       400)
r = lam.invoke(FunctionName="b1", Payload=b"{}")
eq(r["Payload"].read(), b'{"v": 2}', "... and the old code still runs")
g = lam.get_function_configuration(FunctionName="b1")
eq(g["LastUpdateStatus"], "Failed", "... LastUpdateStatus Failed")
ok("zip" in g.get("LastUpdateStatusReason", ""),
   "... with the core's reason", g.get("LastUpdateStatusReason"))

# --- ListFunctions: pages with Marker/MaxItems ---
for i in range(2, 6):
    os.mkdir(os.path.join(fns, "b%d" % i))
names = []
pages = 0
for page in lam.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 2}):
    pages += 1
    names += [f["FunctionName"] for f in page["Functions"]]
eq(names, ["b1", "b2", "b3", "b4", "b5"],
   "ListFunctions: every function, mkdir'd ones too, in order")
eq(pages, 3, "ListFunctions: MaxItems 2 gives 3 pages (NextMarker)")
r = lam.list_functions(MaxItems=2, Marker="b2")
eq([f["FunctionName"] for f in r["Functions"]], ["b3", "b4"],
   "ListFunctions: Marker continues after the marker")

# --- DeleteFunction ---
r = lam.delete_function(FunctionName="b5")
eq(r["ResponseMetadata"]["HTTPStatusCode"], 204, "DeleteFunction: 204")
ok(not exists(os.path.join(fns, "b5")),
   "deleted over HTTP: gone from the mount")

# --- layers ---
lz1 = make_zip({"python/mylib.py": "X = 1\n"})
lz2 = make_zip({"python/mylib.py": "X = 2\n"})
r = lam.publish_layer_version(LayerName="L", Content={"ZipFile": lz1},
                              Description="first")
eq((r["ResponseMetadata"]["HTTPStatusCode"], r["Version"]), (201, 1),
   "PublishLayerVersion: 201, version 1")
eq(r["LayerVersionArn"], "arn:aws:lambda:us-east-1:000000000000:layer:L:1",
   "PublishLayerVersion: LayerVersionArn")
ok(exists(os.path.join(mnt, "layers", "L", "1", "python", "mylib.py")),
   "published over HTTP: layers/L/1 is in the mount")
r = lam.publish_layer_version(LayerName="L", Content={"ZipFile": lz2})
eq(r["Version"], 2, "PublishLayerVersion again: version 2")
r = lam.get_layer_version(LayerName="L", VersionNumber=1)
eq((r["Version"], r["Content"]["CodeSize"]), (1, len(lz1)),
   "GetLayerVersion")
with urllib.request.urlopen(r["Content"]["Location"], timeout=30) as u:
    eq(u.read(), lz1, "GetLayerVersion: Content.Location serves the zip")
r = lam.get_layer_version_by_arn(
    Arn="arn:aws:lambda:us-east-1:000000000000:layer:L:2")
eq(r["Version"], 2, "GetLayerVersionByArn")
r = lam.list_layers()
eq([(x["LayerName"], x["LatestMatchingVersion"]["Version"])
    for x in r["Layers"]], [("L", 2)], "ListLayers: latest version")
r = lam.list_layer_versions(LayerName="L")
eq([x["Version"] for x in r["LayerVersions"]], [2, 1],
   "ListLayerVersions: newest first")
r = lam.update_function_configuration(
    FunctionName="b2", Layers=["arn:aws:lambda:us-east-1:000000000000:layer:L:1"])
eq([x["Arn"] for x in r["Layers"]],
   ["arn:aws:lambda:us-east-1:000000000000:layer:L:1"],
   "UpdateFunctionConfiguration: Layers")
r = lam.delete_layer_version(LayerName="L", VersionNumber=2)
eq(r["ResponseMetadata"]["HTTPStatusCode"], 204, "DeleteLayerVersion: 204")
eq([x["Version"] for x in lam.list_layer_versions(LayerName="L")
    ["LayerVersions"]], [1], "DeleteLayerVersion: version 2 unlisted")
ok(not exists(os.path.join(mnt, "layers", "L", "2")),
   "... and gone from the mount")
r = lam.delete_layer_version(LayerName="L", VersionNumber=2)
eq(r["ResponseMetadata"]["HTTPStatusCode"], 204,
   "DeleteLayerVersion of a deleted version: 204, as AWS")

# --- error shapes: the named exception class, the right status ---
raises(lambda: lam.get_function(FunctionName="nope"),
       "ResourceNotFoundException", "GetFunction missing", 404)
raises(lambda: lam.get_function_configuration(FunctionName="nope"),
       "ResourceNotFoundException", "GetFunctionConfiguration missing", 404)
raises(lambda: lam.delete_function(FunctionName="nope"),
       "ResourceNotFoundException", "DeleteFunction missing", 404)
raises(lambda: lam.update_function_configuration(FunctionName="nope",
                                                 Timeout=3),
       "ResourceNotFoundException", "UpdateFunctionConfiguration missing",
       404)
raises(lambda: lam.update_function_code(FunctionName="nope",
                                        ZipFile=echo_zip),
       "ResourceNotFoundException", "UpdateFunctionCode missing", 404)
raises(lambda: lam.invoke(FunctionName="nope", Payload=b"{}"),
       "ResourceNotFoundException", "Invoke missing", 404)
raises(lambda: lam.invoke(FunctionName="b1", Qualifier="7", Payload=b"{}"),
       "ResourceNotFoundException", "Invoke of a version that is not kept",
       404)
raises(lambda: lam.get_layer_version(LayerName="L", VersionNumber=9),
       "ResourceNotFoundException", "GetLayerVersion missing", 404)
raises(lambda: lam.create_function(
    FunctionName="b1", Runtime="python3.11", Role=ROLE,
    Handler="lambda_function.handler", Code={"ZipFile": echo_zip}),
    "ResourceConflictException", "CreateFunction twice", 409)
raises(lambda: lam.create_function(
    FunctionName="bad-rt", Runtime="cobol85", Role=ROLE, Handler="x.y",
    Code={"ZipFile": echo_zip}),
    "InvalidParameterValueException", "CreateFunction, unknown runtime",
    400)
ok(not exists(os.path.join(fns, "bad-rt")),
   "... and a refused create leaves no function behind")
raises(lambda: lam.create_function(
    FunctionName="bad-zip", Runtime="python3.11", Role=ROLE,
    Handler="lambda_function.handler", Code={"ZipFile": b"PK\x03\x04junk"}),
    "InvalidParameterValueException", "CreateFunction, bad zip", 400)
ok(not exists(os.path.join(fns, "bad-zip")), "... no function behind")
raises(lambda: lam.create_function(
    FunctionName="bad name!", Runtime="python3.11", Role=ROLE,
    Handler="lambda_function.handler", Code={"ZipFile": echo_zip}),
    "InvalidParameterValueException", "CreateFunction, bad name", 400)
raises(lambda: lam.update_function_configuration(
    FunctionName="b1", Environment={"Variables": {"AWS_REGION": "x"}}),
    "InvalidParameterValueException",
    "UpdateFunctionConfiguration, reserved variable", 400)
raises(lambda: lam.update_function_configuration(FunctionName="b1",
                                                 Timeout=901),
       "InvalidParameterValueException",
       "UpdateFunctionConfiguration, Timeout 901", 400)
eq(lam.get_function_configuration(FunctionName="b1")["Timeout"], 30,
   "... and the previous configuration stays in force")
raises(lambda: lam.publish_layer_version(LayerName="L",
                                         Content={"ZipFile": b"junk"}),
       "InvalidParameterValueException", "PublishLayerVersion, bad zip",
       400)
raises(lambda: lam.invoke(FunctionName="b1", Payload=b"{not json"),
       "InvalidRequestContentException", "Invoke, body not JSON", 400)
raises(lambda: lam.invoke(FunctionName="b1",
                          Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"'),
       "RequestEntityTooLargeException", "Invoke over 6 MB (AWS's code, "
       "which botocore's model names RequestTooLargeException, so boto3 "
       "raises ClientError as it does against AWS)", 413, cls="ClientError")
with open(os.path.join(fns, "b3", "config.json"), "w") as f:
    f.write('{"ReservedConcurrentExecutions": 0}')
raises(lambda: lam.invoke(FunctionName="b3", Payload=b"{}"),
       "TooManyRequestsException",
       "Invoke with ReservedConcurrentExecutions 0: throttled", 429)

# --- concurrency and tags: configuration keys over their own calls ---
r = lam.put_function_concurrency(FunctionName="b1",
                                 ReservedConcurrentExecutions=0)
eq(r["ReservedConcurrentExecutions"], 0, "PutFunctionConcurrency")
raises(lambda: lam.invoke(FunctionName="b1", Payload=b"{}"),
       "TooManyRequestsException", "... 0 throttles Invoke", 429)
eq(lam.get_function_concurrency(FunctionName="b1").get(
    "ReservedConcurrentExecutions"), 0, "GetFunctionConcurrency")
eq(lam.get_function(FunctionName="b1").get("Concurrency"),
   {"ReservedConcurrentExecutions": 0}, "GetFunction: Concurrency")
eq(json.load(open(os.path.join(fns, "b1", "config.json"))).get(
    "ReservedConcurrentExecutions"), 0, "... config.json has it")
r = lam.delete_function_concurrency(FunctionName="b1")
eq(r["ResponseMetadata"]["HTTPStatusCode"], 204, "DeleteFunctionConcurrency")
eq(lam.invoke(FunctionName="b1", Payload=b"{}")["StatusCode"], 200,
   "... and Invoke runs again")
arn = "arn:aws:lambda:us-east-1:000000000000:function:b1"
lam.tag_resource(Resource=arn, Tags={"team": "a", "lambdafs:executor":
                                     "subprocess"})
eq(lam.list_tags(Resource=arn)["Tags"],
   {"team": "a", "lambdafs:executor": "subprocess"}, "TagResource, ListTags")
eq(json.load(open(os.path.join(fns, "b1", "config.json"))).get("Tags"),
   {"team": "a", "lambdafs:executor": "subprocess"}, "... config.json has them")
lam.untag_resource(Resource=arn, TagKeys=["team"])
eq(lam.list_tags(Resource=arn)["Tags"], {"lambdafs:executor": "subprocess"},
   "UntagResource")
raises(lambda: lam.tag_resource(Resource=arn,
                                Tags={"lambdafs:executor": "kubernetes"}),
       "InvalidParameterValueException",
       "TagResource: lambdafs:executor is validated by the core", 400)
raises(lambda: lam.list_tags(Resource=arn.replace("b1", "ghost")),
       "ResourceNotFoundException", "ListTags of a missing function", 404)
done()
