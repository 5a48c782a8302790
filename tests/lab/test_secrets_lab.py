"""No secret in `ansible-playbook -vvv establish_mesh.yml` output, in reports/, or in the services' journals."""
import pytest

from support import secrets

pytestmark = pytest.mark.lab


def test_no_secret_in_vvv_output_reports_or_journals(mesh):
    result = secrets.scan()
    # Every vaulted secret of the lab: four store passwords, two CURVE secret keys, and the INF
    # pair's superuser and replication passwords (docs/ha.md).
    assert result["secrets"] == 8 and result["min_secret_len"] >= 8
    assert result["rc"] == {"establish": 0, "verify": 0}
    assert not result["leaks"], "secrets leaked: %s" % result["leaks"]
    assert result["texts"]["establish -vvv"] > 10000  # -vvv really was verbose
