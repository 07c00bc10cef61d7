import subprocess
import sys


def test_importing_the_library_loads_no_heavy_parts():
    """Browser, grpc, httpx and the crypto stack load only when a keyword needs them."""
    code = (
        "import sys, HealthcodeLibrary; print(sorted(m for m in ('Browser', 'grpc', 'playwright', 'httpx', "
        "'joserfc', 'cryptography', 'truststore', 'keyring', 'filelock', 'requests') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
