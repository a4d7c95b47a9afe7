# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Signals of a running agent, with oslo.service launcher semantics (in process).

- SIGTERM, SIGINT: stop (``agent.stop()`` in a new thread; run() returns, exit 0).
  Before the agent exists (logging on, waiting for the VIOSes) they exit at once.
- SIGHUP: ``conf.mutate_config_files()`` (as oslo.service's Launcher with
  ``restart_method='mutate'``: mutable options take effect, others are logged
  as ignored) and log files reopened (logrotate's ``postrotate``). The agent
  object, its provisioning queue and its threads stay: nothing is dropped.
  neutron 29's in-tree agents get the same from a cotyledon worker restart,
  which would lose the queue; this does it without the fork.
- SIGUSR2: a Guru Meditation Report (oslo.reports) on stderr, or in
  ``[oslo_reports] log_dir``.

Handlers only start threads or set flags: the work happens outside the handler.
"""

from __future__ import annotations

import logging as std_logging
import os
import signal
import sys
import threading
from logging import handlers as log_handlers
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_reports import guru_meditation_report as gmr
from oslo_reports import opts as gmr_opts

from networking_powervm import version

LOG = logging.getLogger(__name__)


class Lifecycle:
    """The agent process's signal handlers (install from the main thread)."""

    def __init__(self, conf: cfg.ConfigOpts, binary: str) -> None:
        self.conf = conf
        self.binary = binary
        self.agent: Any = None
        self._reload_lock = threading.Lock()
        self.reloads = 0

    def install(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reload, SIGUSR2 Guru Meditation Report."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        gmr_opts.set_defaults(self.conf)
        gmr.TextGuruMeditation.setup_autorun(version=version.version_string(), conf=self.conf)

    def attach(self, agent: Any) -> None:
        """From now on SIGTERM/SIGINT stop ``agent`` instead of exiting at once."""
        self.agent = agent

    def _on_stop(self, signum: int, frame: Any) -> None:
        if self.agent is None:
            # Still starting (e.g. retrying the logon): nothing to stop yet.
            std_logging.shutdown()
            os._exit(0)
        threading.Thread(target=self._stop, args=(signal.Signals(signum).name,),
                         name='stop', daemon=True).start()

    def _stop(self, name: str) -> None:
        LOG.info("%s received: stopping %s", name, self.binary)
        self.agent.stop()

    def _on_reload(self, signum: int, frame: Any) -> None:
        threading.Thread(target=self.reload, name='reload', daemon=True).start()

    def reload(self) -> None:
        """Re-read the config files (mutable options) and reopen the log files."""
        with self._reload_lock:
            LOG.info("SIGHUP received: reloading the configuration files of %s", self.binary)
            try:
                changed = self.conf.mutate_config_files()
            except Exception as exc:  # a file that no longer parses: keep running as is
                LOG.error("Reloading the configuration failed, keeping it as it was: %s", exc)
                changed = {}
            reopen_log_files()
            self.reloads += 1
            LOG.info("Configuration reloaded (%d mutable option(s) changed); log files "
                     "reopened", len(changed or {}))


def reopen_log_files() -> None:
    """Reopen every file a log handler writes (after logrotate moved it)."""
    for handler in list(std_logging.getLogger().handlers):
        if isinstance(handler, std_logging.FileHandler):
            handler.acquire()
            try:
                if handler.stream is not None:
                    handler.stream.flush()
                    handler.stream.close()
                handler.stream = handler._open()
                if isinstance(handler, log_handlers.WatchedFileHandler):
                    handler._statstream()
            except OSError as exc:
                print(f"cannot reopen log file {handler.baseFilename}: {exc}", file=sys.stderr)
            finally:
                handler.release()
