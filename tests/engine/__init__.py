"""Tests that drive the real Pulumi CLI (built by `bash toolchain/build.sh engine`)."""
