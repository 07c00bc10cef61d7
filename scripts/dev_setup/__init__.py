"""The parts of the setup that scripts/dev.py does before each of its commands, standard library only:

- console: progress lines, durations, commands run with their output on the console, SetupError;
- virtual_env: the virtual environment's layout on each system, and installing the project in it;
- apt: Debian's packages through apt-get, waiting for another package manager's lock;
- system_packages: a browser, redis-server and nginx, found, installed, or what to install said.
"""
