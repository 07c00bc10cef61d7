import subprocess
import sys


def test_core_imports_neither_robot_nor_browser_nor_sandbox():
    code = (
        "import sys, healthcode_auth, healthcode_auth.client, healthcode_auth.protocol.jwt_verification;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('robot', 'Browser', 'healthcode_sandbox', 'HealthcodeLibrary', 'grpc', 'playwright'));"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_core_import_is_light():
    """JOSE and TLS machinery load only when a token or a connection needs them."""
    code = "import sys, healthcode_auth; print(sorted(m for m in ('joserfc', 'truststore', 'cryptography') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
