"""GetBucketVersioning for moto server 5.2.5.

AWS answers with a `VersioningConfiguration` root: `<Status>` Enabled or Suspended, none
for a bucket whose versioning was never set. moto answers with a `GetBucketVersioningResponse`
root, which the AWS SDK for Rust refuses as an invalid XML root. This serves AWS's document.
An unknown bucket is moto's NoSuchBucket, as before.
"""

from __future__ import annotations

from moto.s3.responses import S3Response


def document(status: str | None) -> str:
    """The VersioningConfiguration AWS answers for `status` (None: never versioned)."""
    inner = f"<Status>{status}</Status>" if status else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{inner}</VersioningConfiguration>"
    )


def install() -> None:
    def get_bucket_versioning(self: S3Response):  # type: ignore[no-untyped-def]
        status = self.backend.get_bucket_versioning(self.bucket_name)
        return 200, {"Content-Type": "application/xml"}, document(status)

    S3Response.get_bucket_versioning = get_bucket_versioning  # type: ignore[method-assign]
