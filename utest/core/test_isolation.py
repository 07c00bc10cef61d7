import subprocess
import sys


def test_core_import_is_light():
    """JOSE and TLS machinery load only when a token or a connection needs them."""
    code = "import sys, healthcode_auth; print(sorted(m for m in ('joserfc', 'truststore', 'cryptography') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
