"""S3 storage over real HTTP (moto server on loopback): same interface as local storage."""

import urllib.request

import pytest


def test_objects_have_content_types_and_stable_uris(s3_storage, s3_client, bucket):
    uri = s3_storage.write_bytes("campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png", b"\x89PNG fake")
    assert uri == f"s3://{bucket}/tenant-a/campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png"
    head = s3_client.head_object(
        Bucket=bucket, Key="tenant-a/campaigns/c/en-US/p/final_creatives/1x1/candidate-1.png"
    )
    assert head["ContentType"] == "image/png"
    s3_storage.write_text("campaigns/c/summary.csv", "a,b\n")
    head = s3_client.head_object(Bucket=bucket, Key="tenant-a/campaigns/c/summary.csv")
    assert head["ContentType"].startswith("text/csv")
    assert s3_storage.read_text("campaigns/c/summary.csv") == "a,b\n"


def test_missing_objects(s3_storage):
    assert not s3_storage.exists("nope.json")
    with pytest.raises(FileNotFoundError):
        s3_storage.read_bytes("nope.json")
    s3_storage.delete("nope.json")  # deleting a missing key is not an error


def test_listing_paginates_past_1000_keys_and_respects_prefixes(s3_storage, s3_client, bucket):
    for i in range(1005):
        s3_client.put_object(Bucket=bucket, Key=f"tenant-a/inbox/many/{i:05d}.json", Body=b"{}")
    s3_client.put_object(Bucket=bucket, Key="tenant-b/inbox/other.json", Body=b"{}")
    s3_client.put_object(Bucket=bucket, Key="tenant-a/inboxx/not-this.json", Body=b"{}")
    keys = list(s3_storage.list_keys("inbox"))
    assert len(keys) == 1005
    assert keys[0] == "inbox/many/00000.json" and keys[-1] == "inbox/many/01004.json"


def test_presigned_url_serves_the_object(s3_storage):
    s3_storage.write_bytes("campaigns/c/x.json", b'{"ok": true}')
    url = s3_storage.browse_url("campaigns/c/x.json")
    assert url.startswith("http://127.0.0.1") and "Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b'{"ok": true}'


def test_unsafe_keys_never_reach_the_bucket(s3_storage):
    with pytest.raises(ValueError):
        s3_storage.write_bytes("../escape.json", b"x")
