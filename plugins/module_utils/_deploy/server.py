# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put a certificate in front of a running server: write, test the config, reload, check what is served.

The order is what keeps a working server working: the new files are written
atomically with the old ones kept in memory; the server's own configuration
test runs before any reload, and when it fails the old files go back and
nothing is reloaded, so the old certificate is served throughout. After a
reload, a TLS handshake with SNI reads the served leaf: unless it is the new
certificate (the same SHA-256 of its DER; a serial can be shared, see
``identity.py``), the old files go back, the server is reloaded again and the
handshake must show the old certificate. Commands run through ``/bin/sh -c`` (a
reload may need ``$(cat pidfile)``) with the module's ``run_command``
(``_common/commands.py``): it stops reading once the shell has exited and the
output went quiet, so a daemon that a reload starts cannot hold the module up,
and a command past ``command_timeout`` is killed with everything it started.
"""

from __future__ import annotations

import shutil
import time
from typing import Callable

from ansible_collections.certfleet.acme.plugins.module_utils._common.commands import RunCommand, run_bounded
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.disk import Backup, read_current
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.files import (
    BUNDLE,
    DeployError,
    describe,
    differences,
)
from ansible_collections.certfleet.acme.plugins.module_utils._deploy.identity import (
    Identity,
    pem_identity,
    served_identity,
)
from ansible_collections.certfleet.acme.plugins.module_utils._plan.served_cert import ServedCertError

TAIL_LINES = 20
TAIL_CHARS = 2000


def default_commands(deploy_type: str, which=shutil.which) -> tuple[str | None, str | None]:
    """The (validate, reload) commands of a server type when the user gives none; None: no command."""
    if deploy_type == "nginx":
        return "nginx -t", "nginx -s reload"
    if deploy_type == "apache":
        # Debian and Ubuntu name the control script apache2ctl; elsewhere it is apachectl.
        control = "apache2ctl" if which("apache2ctl") else "apachectl"
        return "%s configtest" % control, "%s graceful" % control
    if deploy_type == "haproxy":
        return "haproxy -c -f /etc/haproxy/haproxy.cfg", "systemctl reload haproxy"
    return None, None


def pick_command(given: str | None, default: str | None) -> str | None:
    """The user's command wins; an empty or blank one means: run none."""
    if given is None:
        return default
    return given if given.strip() else None


def tail(text: str) -> str:
    """The last lines of a command's output, short enough for a task result."""
    lines = text.rstrip().splitlines()[-TAIL_LINES:]
    joined = "\n".join(lines)
    return joined[-TAIL_CHARS:]


#: ``runner(command, timeout)``: ``{command, rc, stdout, stderr}`` (tails), rc None when the command never ended.
Runner = Callable[[str, float], dict]


def shell_runner(run_command: RunCommand) -> Runner:
    """The runner of a module: ``command`` through ``/bin/sh -c`` with the module's ``run_command``."""

    def run(command: str, timeout: float) -> dict:
        try:
            done = run_bounded(run_command, ["/bin/sh", "-c", command], timeout)
        except OSError as exc:
            return {"command": command, "rc": None, "stdout": "", "stderr": "cannot run: %s" % exc}
        stderr = done.stderr
        if done.timed_out:
            stderr = (stderr.rstrip() + "\nno exit within %gs; stopped it and what it started" % timeout).strip()
        return {"command": command, "rc": done.rc, "stdout": tail(done.stdout), "stderr": tail(stderr)}

    return run


def command_failed(output: dict) -> bool:
    return output["rc"] != 0


def explain(output: dict) -> str:
    """``'<command>' exited with code N: <its last lines of output>``, for messages."""
    if output["rc"] is None:
        status = "did not complete"
    else:
        status = "exited with code %s" % output["rc"]
    lines = [line.strip() for line in (output["stderr"] or output["stdout"]).splitlines() if line.strip()]
    # The last line alone is often only "test failed"; the reason is a line or two above it.
    detail = " | ".join(lines[-3:])
    return "%r %s%s" % (output["command"], status, ": %s" % detail if detail else "")


class Deployment:
    """One certificate onto one server: plan, compare, then write, validate, reload, verify or roll back.

    ``runner`` runs the validate and reload commands (:func:`shell_runner` in
    the module); ``fetch(host, port, sni, timeout)`` is :func:`served_identity`
    unless a test gives another.
    """

    def __init__(
        self,
        cert: str,
        deploy_type: str,
        targets: list,
        expected: Identity,
        validate_command: str | None = None,
        reload_command: str | None = None,
        verify: dict | None = None,
        verify_retries: int = 5,
        verify_delay: float = 2.0,
        command_timeout: float = 60,
        *,
        runner: Runner,
        fetch=served_identity,
        sleep=time.sleep,
    ):
        self.cert = cert
        self.deploy_type = deploy_type
        self.targets = targets
        self.expected = expected
        self.validate_command = validate_command
        self.reload_command = reload_command
        self.verify = verify
        self.verify_retries = verify_retries
        self.verify_delay = verify_delay
        self.command_timeout = command_timeout
        self.runner = runner
        self.fetch = fetch
        self.sleep = sleep
        self.result = {
            "changed": False,
            "files": [],
            "expected_serial": expected.serial,
            "expected_fingerprint": expected.fingerprint,
            "previous_serial": None,
            "previous_fingerprint": None,
            "served_serial": None,
            "served_fingerprint": None,
            "rolled_back": False,
            "validate": None,
            "reload": None,
            "rollback_reload": None,
        }
        self.previous: Identity | None = None
        self.warnings: list[str] = []

    # ---------------------------------------------------------------- helpers
    def _where(self) -> str:
        verify = self.verify
        return "%s:%s (SNI %s)" % (verify["host"], verify["port"], verify.get("sni") or "none")

    def _what(self) -> str:
        return "certificate %r (%s)" % (self.cert, self.deploy_type)

    def _record(self, which: str, identity: Identity | None) -> None:
        """``<which>_serial`` and ``<which>_fingerprint`` of the result."""
        self.result["%s_serial" % which] = identity.serial if identity else None
        self.result["%s_fingerprint" % which] = identity.fingerprint if identity else None

    def _served(self) -> tuple[Identity | None, str | None]:
        """(identity, None) or (None, error) for one handshake with the verify endpoint."""
        verify = self.verify
        try:
            return self.fetch(verify["host"], verify["port"], verify.get("sni"), verify["timeout"]), None
        except ServedCertError as exc:
            return None, str(exc)

    def _wait_for(self, wanted: Identity | None) -> tuple[Identity | None, str | None]:
        """Handshake until ``wanted`` is served, at most 1 + verify_retries times; the last (identity, error).

        ``wanted`` None waits for any readable certificate. The last one seen is the result's ``served_*``.
        """
        served, error = self._served()
        for _attempt in range(self.verify_retries):
            if served is not None and (wanted is None or wanted.same(served)):
                break
            self.sleep(self.verify_delay)
            served, error = self._served()
        self._record("served", served)
        return served, error

    def _fail(self, msg: str) -> dict:
        self.result["failed"] = True
        self.result["msg"] = msg
        return self.result

    def _diff(self, plan: list) -> dict:
        before, after = [], []
        for target, current, changes in plan:
            if not changes:
                continue
            if current.exists:
                before.append(
                    "%s: %s"
                    % (target.path, describe(target.kind, current.mode, current.uid, current.gid, current.content))
                )
            else:
                before.append("%s: absent" % target.path)
            uid = current.uid if target.uid is None else target.uid
            gid = current.gid if target.gid is None else target.gid
            after.append(
                "%s: %s (%s)"
                % (target.path, describe(target.kind, target.mode, uid, gid, target.content), ", ".join(changes))
            )
        header = "%s: %s" % (self.deploy_type, self.cert)
        return {
            "before_header": header,
            "after_header": header,
            "before": "\n".join(before) + ("\n" if before else ""),
            "after": "\n".join(after) + ("\n" if after else ""),
        }

    # ---------------------------------------------------------------- the run
    def plan(self) -> list:
        """[(target, current, changes)] for every target; raises DeployError before anything changed."""
        plan = []
        for target in self.targets:
            current = read_current(target.path, target.root)
            plan.append((target, current, differences(target, current)))
        return plan

    def run(self, check_mode: bool = False, diff: bool = False) -> dict:
        """Deploy; the result dict has ``failed`` and ``msg`` when it did not end with the new certificate."""
        try:
            plan = self.plan()
        except DeployError as exc:
            return self._fail(str(exc))
        self.result["files"] = [
            {
                "path": target.path,
                "kind": target.kind,
                "mode": "%04o" % target.mode,
                "changed": bool(changes),
                "changes": changes,
            }
            for target, current, changes in plan
        ]
        previous = next((c for t, c, x in plan if t.kind in ("cert", BUNDLE)), None)
        self.previous = pem_identity(previous.content) if previous else None
        self._record("previous", self.previous)
        if diff:
            self.result["diff"] = self._diff(plan)
        if not any(changes for target, current, changes in plan):
            return self._unchanged(check_mode)
        self.result["changed"] = True
        if check_mode:
            self.result["msg"] = "would write %d file(s)" % sum(1 for entry in self.result["files"] if entry["changed"])
            return self.result
        return self._deploy(Backup([current for target, current, changes in plan]), plan)

    def _unchanged(self, check_mode: bool) -> dict:
        """Files already in place. Still look at the endpoint: a run that died before its reload left them so."""
        if not self.verify:
            self.result["msg"] = "files already in place"
            return self.result
        served, error = self._served()
        self._record("served", served)
        if self.expected.same(served):
            self.result["msg"] = "files already in place and %s serves them (%s)" % (self._where(), served)
            return self.result
        if served is None:
            self.warnings.append(
                "%s: files already in place, but the endpoint could not be read: %s" % (self._what(), error)
            )
            self.result["msg"] = "files already in place"
            return self.result
        # The files are right but the server still has the old ones loaded: it was never reloaded.
        self.result["changed"] = True
        if check_mode:
            self.result["msg"] = "files already in place; would reload, %s serves %s" % (self._where(), served)
            return self.result
        failure = self._validate_and_reload()
        if failure:
            return self._fail(
                "%s: files already in place but %s serves %s; %s" % (self._what(), self._where(), served, failure)
            )
        served, error = self._wait_for(self.expected)
        if not self.expected.same(served):
            return self._fail(
                "%s: files already in place and reloaded, but %s serves %s, not the new certificate (%s)"
                % (self._what(), self._where(), self._served_text(served, error), self.expected)
            )
        self.result["msg"] = "files already in place; reloaded, %s serves them (%s)" % (self._where(), served)
        return self.result

    @staticmethod
    def _served_text(served: Identity | None, error: str | None) -> str:
        return str(served) if served else "nothing readable (%s)" % error

    def _validate_and_reload(self) -> str | None:
        """Run the validate then the reload command; a message when one of them failed."""
        if self.validate_command:
            output = self.runner(self.validate_command, self.command_timeout)
            self.result["validate"] = output
            if command_failed(output):
                return "the configuration test %s" % explain(output)
        if self.reload_command:
            output = self.runner(self.reload_command, self.command_timeout)
            self.result["reload"] = output
            if command_failed(output):
                return "the reload %s" % explain(output)
        return None

    def _deploy(self, backup: Backup, plan: list) -> dict:
        try:
            backup.write([target for target, current, changes in plan if changes])
        except DeployError as exc:
            return self._roll_back(backup, "%s: %s" % (self._what(), exc), reload_again=False)
        failure = self._validate_and_reload()
        if failure:
            # A failed config test reloaded nothing: the server still runs the old files it loaded.
            reloaded = self.result["reload"] is not None
            return self._roll_back(backup, "%s: %s" % (self._what(), failure), reload_again=reloaded)
        if not self.verify:
            self.result["msg"] = "deployed %d file(s); not verified (no verify endpoint)" % sum(
                1 for entry in self.result["files"] if entry["changed"]
            )
            return self.result
        served, error = self._wait_for(self.expected)
        if self.expected.same(served):
            self.result["msg"] = "deployed; %s serves the new certificate (%s)" % (self._where(), served)
            return self.result
        message = "%s: after the reload %s serves %s, not the new certificate (%s)" % (
            self._what(),
            self._where(),
            self._served_text(served, error),
            self.expected,
        )
        return self._roll_back(backup, message, reload_again=True)

    def _roll_back(self, backup: Backup, message: str, reload_again: bool) -> dict:
        """Put the old files back, reload when the server may have loaded the new ones, and say what is served."""
        problems = backup.restore()
        self.result["rolled_back"] = True
        parts = [message, "rolled back: restored the previous files"]
        if problems:
            parts.append("BUT " + "; ".join(problems))
        if reload_again and self.reload_command:
            output = self.runner(self.reload_command, self.command_timeout)
            self.result["rollback_reload"] = output
            if command_failed(output):
                parts.append("the reload after restoring %s" % explain(output))
            else:
                parts.append("reloaded again")
        elif not reload_again:
            parts.append("nothing was reloaded")
        if self.verify:
            previous = self.previous
            if reload_again:
                served, error = self._wait_for(previous)
            else:
                served, error = self._served()
                self._record("served", served)
            if previous is None:
                parts.append(
                    "%s now serves %s (there was no previous certificate)"
                    % (self._where(), self._served_text(served, error))
                )
            elif previous.same(served):
                parts.append("%s serves the previous certificate (%s)" % (self._where(), served))
            else:
                parts.append(
                    "%s serves %s, NOT the previous certificate (%s)"
                    % (self._where(), self._served_text(served, error), previous)
                )
        return self._fail("; ".join(parts))
