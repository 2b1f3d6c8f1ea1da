"""A stand-in for the AWS CLI's few commands the snapshot CronJob runs, on boto3 (tests only).

`aws configure set default.s3.addressing_style X`, `aws [--endpoint-url=U] s3 cp [--only-show-errors]
FILE s3://B/K`, `aws ... s3 ls s3://B/PREFIX/` (AWS CLI's `date time size name` lines) and
`aws ... s3 rm [--only-show-errors] s3://B/K`. Credentials and region come from the environment,
as for the real CLI; each call is logged to $AWS_SHIM_LOG so the test sees the order.
"""

import os
import sys

import boto3
import botocore.config

args = [a for a in sys.argv[1:] if a != "--only-show-errors"]
endpoint = None
if args and args[0].startswith("--endpoint-url="):
    endpoint = args.pop(0).split("=", 1)[1]
with open(os.environ["AWS_SHIM_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
if args[:2] == ["configure", "set"]:
    sys.exit(0)
style = os.environ.get("AWS_SHIM_STYLE", "auto")
client = boto3.client(
    "s3", endpoint_url=endpoint, config=botocore.config.Config(s3={"addressing_style": style})
)


def split(url):
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


command = args[1]
if command == "cp":
    bucket, key = split(args[3])
    with open(args[2], "rb") as handle:
        client.put_object(Bucket=bucket, Key=key, Body=handle.read())
elif command == "ls":
    bucket, prefix = split(args[2])
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        name = item["Key"][len(prefix) :]
        print(f"{item['LastModified']:%Y-%m-%d %H:%M:%S} {item['Size']:>10} {name}")
elif command == "rm":
    bucket, key = split(args[2])
    client.delete_object(Bucket=bucket, Key=key)
else:
    sys.exit(f"aws shim: unsupported {args}")
