# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate files every AWS target test deploys."""

from __future__ import annotations

import pytest
from aws_world import write_files

from ansible_collections.certfleet.acme.plugins.module_utils._deploy.aws.certificate import load_certificate_files


@pytest.fixture
def files(tmp_path):
    return load_certificate_files("www", write_files(tmp_path / "www", 0xABC))
