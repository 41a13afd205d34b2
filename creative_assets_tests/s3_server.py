"""A real S3 endpoint for tests: moto's server on loopback, spoken to over HTTP by boto3."""

from __future__ import annotations

import socket
import uuid

import boto3
import pytest
from dagster_aws.s3 import S3Resource

from resources.storage import S3CreativeStorage

ACCESS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, **ACCESS)


@pytest.fixture
def bucket(s3_client) -> str:
    name = f"creatives-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_storage(s3_endpoint, bucket, monkeypatch) -> S3CreativeStorage:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return S3CreativeStorage(
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"), bucket=bucket, prefix="tenant-a"
    )
