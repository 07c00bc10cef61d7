from healthcode_sandbox.pytest_plugin import sandbox, sandbox_factory, sandbox_settings

__all__ = ["sandbox", "sandbox_factory", "sandbox_settings"]
