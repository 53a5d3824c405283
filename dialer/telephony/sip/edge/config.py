"""The SIP edge's configuration: ``kamailio.cfg`` (a template next to this file) with a header of
``#!define``/``#!substdef`` lines holding the values that vary, taken from the settings."""

from __future__ import annotations

import glob
import ipaddress
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from dialer.kit.errors import DialerError
from dialer.seats.models import SipCredential
from dialer.settings import Settings

TEMPLATE = Path(__file__).with_name("kamailio.cfg")
CONFIG_NAME = "kamailio.cfg"
CTL_SOCKET_NAME = "kamailio_ctl"
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/*/kamailio/modules",
               "/usr/lib64/kamailio/modules", "/usr/lib/kamailio/modules", "/usr/local/lib*/kamailio/modules")


class EdgeError(DialerError):
    """The SIP edge cannot be configured or started (Kamailio missing, a config it refuses, ...)."""

    code = "sip_edge_error"
    status = 503


@dataclass(frozen=True, slots=True)
class KamailioDatabase:
    """The dialer's database as Kamailio's ``db_*`` modules name it."""

    url: str  # sqlite:///abs/path or postgres://user[:password]@host:port/db
    driver: str  # "sqlite" | "postgres"
    sqlite_file: Path | None = None


def kamailio_database(database_url: str) -> KamailioDatabase:
    """``sqlite+aiosqlite:///x.db`` → ``sqlite:////abs/x.db``; ``postgresql+asyncpg://u@h:p/db`` →
    ``postgres://u@h:p/db`` (Kamailio's db_postgres form)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise EdgeError("the SIP edge reads the dialer's database: an in-memory SQLite database cannot be shared")
        path = Path(url.database).expanduser().resolve()
        return KamailioDatabase(url=f"sqlite://{path}", driver="sqlite", sqlite_file=path)
    if url.get_backend_name() == "postgresql":
        user = url.username or "postgres"
        login = f"{user}:{url.password}" if url.password else user
        return KamailioDatabase(url=f"postgres://{login}@{url.host or 'localhost'}:{url.port or 5432}/{url.database}",
                                driver="postgres")
    raise EdgeError(f"the SIP edge cannot read a {url.get_backend_name()} database")


def address_of(host: str) -> str:
    """An IPv4 address for ``host`` (Kamailio compares source addresses, not names)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0])
    except OSError as exc:
        raise EdgeError(f"cannot resolve {host!r} for the SIP edge: {exc}") from exc


def module_path() -> str:
    """Where the Kamailio modules are (Debian: /usr/lib/<triplet>/kamailio/modules)."""
    for pattern in MODULE_DIRS:
        for found in sorted(glob.glob(pattern)):
            if Path(found, "tm.so").is_file():
                return found
    raise EdgeError("Kamailio's modules were not found (install the kamailio package: scripts/ensure-sip-tools.sh)")


def kamailio_binary() -> str:
    found = shutil.which("kamailio") or next((p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio")
                                             if Path(p).is_file()), None)
    if found is None:
        raise EdgeError("kamailio is not installed (scripts/ensure-sip-tools.sh installs Debian's package)")
    return found


def _quoted(value: str) -> str:
    if any(c in value for c in '"\\\n\r'):
        raise EdgeError(f"a value the SIP edge's config cannot hold: {value!r}")
    return f'"{value}"'


def header(settings: Settings, run_dir: Path) -> str:
    """The generated ``#!define`` lines the template reads (its comment lists them)."""
    database = kamailio_database(settings.database_url)
    edge_ip, b2bua_ip = address_of(settings.sip_edge_host), address_of(settings.sip_b2bua_host)
    listen = f"udp:{edge_ip}:{settings.sip_edge_port}"
    lines = [
        "####### Generated from the dialer's settings (dialer.telephony.sip.edge.config) #########",
        f'#!substdef "!EDGE_LISTEN!{listen}!g"',
        f"#!define SIP_DOMAIN {_quoted(settings.sip_domain)}",
        f"#!define B2BUA_IP {_quoted(b2bua_ip)}",
        f"#!define B2BUA_PORT {settings.sip_b2bua_port}",
        f"#!define B2BUA_URI {_quoted(f'sip:{b2bua_ip}:{settings.sip_b2bua_port}')}",
        f"#!define DBURL {_quoted(database.url)}",
        f"#!define CREDENTIALS {_quoted(SipCredential.__tablename__)}",
        f"#!define MODULE_PATH {_quoted(module_path())}",
        f"#!define CTL_SOCKET {_quoted(f'unix:{run_dir.resolve() / CTL_SOCKET_NAME}')}",
    ]
    if database.sqlite_file is not None:
        lines += ["#!define WITH_SQLITE", f"#!define SQLITE_FILE {_quoted(str(database.sqlite_file))}"]
    else:
        lines.append("#!define WITH_POSTGRES")
    if settings.sip_trunk_host:
        lines += ["#!define WITH_TRUNK", f"#!define TRUNK_IP {_quoted(address_of(settings.sip_trunk_host))}",
                  f"#!define TRUNK_PORT {settings.sip_trunk_port}"]
    return "\n".join(lines) + "\n"


def render(settings: Settings, run_dir: Path) -> Path:
    """Write ``run_dir/kamailio.cfg`` (the header, then the template) and return its path. The file
    may hold the database password, so only its owner reads it."""
    run_dir = run_dir.resolve()  # Kamailio resolves paths from / (the data dir is relative by default)
    run_dir.mkdir(parents=True, exist_ok=True)
    first, _, rest = TEMPLATE.read_text().partition("\n")
    path = run_dir / CONFIG_NAME
    path.touch(mode=0o600)
    path.write_text(f"{first}\n{header(settings, run_dir)}{rest}")
    return path


def check(config: Path) -> str:
    """``kamailio -c -f config``: returns Kamailio's output when it accepts the file, else raises."""
    result = subprocess.run([kamailio_binary(), "-c", "-f", str(config)], capture_output=True, text=True,
                            timeout=60, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise EdgeError(f"Kamailio refuses {config}: {_last_errors(output)}")
    return output


def _last_errors(output: str) -> str:
    errors = [line.strip() for line in output.splitlines() if "ERROR" in line or "CRITICAL" in line]
    return " | ".join(errors[-5:]) or output.strip()[-500:]
