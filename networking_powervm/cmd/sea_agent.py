"""networking-powervm-sea-agent / networking-powervm-sharedethernet-agent."""

# Select oslo.service's threading backend before anything imports oslo_messaging.
from oslo_service import backend as _backend  # isort: skip

try:
    _backend.init_backend(_backend.BackendType.THREADING)
except _backend.exceptions.BackendAlreadySelected:  # pragma: no cover
    pass

import logging as std_logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from neutron.common import config as common_config  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402

from networking_powervm.agent import base  # noqa: E402
from networking_powervm.agent import config as pvm_config  # noqa: E402
from networking_powervm.agent import session as pvm_session  # noqa: E402
from networking_powervm.agent.sea import agent as sea_agent  # noqa: E402

LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Run the SEA agent until SIGTERM; exit 1 with a clear message on start-up errors."""
    pvm_config.register_opts(cfg.CONF)
    common_config.register_common_config_options()
    common_config.init(sys.argv[1:] if argv is None else argv)
    common_config.setup_logging()
    try:
        agent = sea_agent.SharedEthernetAgent(cfg.CONF)
    except (base.AgentError, pvm_session.SessionError) as exc:
        return _startup_failed(str(exc))
    except Exception as exc:
        LOG.exception("Cannot start the PowerVM SEA agent")
        return _startup_failed(f"{type(exc).__name__}: {exc}")
    try:
        agent.run()
    except (base.AgentError, pvm_session.SessionError) as exc:
        LOG.error("PowerVM SEA agent stopped: %s", exc)
        print(f"networking-powervm-sea-agent: {exc}", file=sys.stderr)
        return _exit(1)
    except Exception:
        LOG.exception("PowerVM SEA agent failed")
        return _exit(1)
    return _exit(0)


def _startup_failed(message: str) -> int:
    LOG.error("Cannot start the PowerVM SEA agent: %s", message)
    print(f"networking-powervm-sea-agent: cannot start: {message}", file=sys.stderr)
    return 1


def _exit(code: int) -> int:
    # pypowervm's event poll thread is not a daemon and may sit in a long poll
    # for up to [powervm] timeout seconds: leave without waiting for it.
    std_logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
    return code  # pragma: no cover


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
