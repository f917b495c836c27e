# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive an existing dehydrated-style hook script to add and remove TXT values.

Many sites already own a hook written for dehydrated (formerly letsencrypt.sh)
that knows their DNS service. The hook is called the way dehydrated calls it
for ``dns-01``::

    HOOK deploy_challenge DOMAIN TOKEN_FILENAME TOKEN_VALUE
    HOOK clean_challenge  DOMAIN TOKEN_FILENAME TOKEN_VALUE

``DOMAIN`` is the validated name: the TXT name without its leading
``_acme-challenge.`` label (a name without that label, such as the target of a
CNAME delegation, is passed as it is). ``TOKEN_FILENAME`` is the http-01 token
file name in dehydrated, which ``dns-01`` hooks ignore; this module does not
know the ACME token, so it passes the TXT value there too: non-empty and
made of base64url characters, so that hooks expanding ``$@`` unquoted still
see three words per record, and stable between deploy and clean, so that
hooks keeping state in a file named after it find it again. ``TOKEN_VALUE``
is the TXT value.

With ``chain`` (dehydrated's ``HOOK_CHAIN=yes``) one call carries many
``DOMAIN TOKEN_FILENAME TOKEN_VALUE`` triples. Like dehydrated, a call never
holds the same DOMAIN twice (a wildcard and its apex share one TXT name, and
chained hooks often build one record set per DOMAIN): a second value at a
name goes into a second call.

A hook cannot tell what a name holds, so this provider does not read
(``CAN_READ`` false): ``present`` deploys every given value and ``absent``
cleans every given value.

The hook runs through the module's ``run_command`` (``_common/commands.py``),
without a shell, with stdin at end of file, and in a session of its own, so
that a hook past its ``timeout`` is killed together with every child it
started.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.certfleet.acme.plugins.module_utils._common.commands import run_bounded
from ansible_collections.certfleet.acme.plugins.module_utils._common.names import normalize
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers.base import DnsProvider, ProviderError

CHALLENGE_LABEL = "_acme-challenge."
DEPLOY = "deploy_challenge"
CLEAN = "clean_challenge"

# How much of a failing hook's output goes into the error message.
MAX_OUTPUT_CHARS = 2000


def hook_domain(fqdn: str) -> str:
    """The DOMAIN argument for a TXT name: the name without its ``_acme-challenge.`` label."""
    name = normalize(fqdn)
    if name.startswith(CHALLENGE_LABEL) and len(name) > len(CHALLENGE_LABEL):
        return name[len(CHALLENGE_LABEL) :]
    return name


def call_rounds(records: dict[str, list[str]]) -> list[list[tuple[str, str]]]:
    """Split (name, value) pairs into rounds in which every name appears at most once.

    Round N holds the N-th value of every name, so chained calls stay as few
    as possible while no call carries one DOMAIN twice.
    """
    rounds: list[list[tuple[str, str]]] = []
    for fqdn, values in records.items():
        for index, value in enumerate(values):
            if index == len(rounds):
                rounds.append([])
            rounds[index].append((fqdn, value))
    return rounds


def _tail(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_OUTPUT_CHARS:
        text = "..." + text[-MAX_OUTPUT_CHARS:]
    return text


class HookProvider(DnsProvider):
    """An executable that speaks dehydrated's hook protocol."""

    TYPE = "hook"
    SECRET_OPTIONS = ("environment",)
    REQUIRED_OPTIONS = ("hook",)
    OPTIONAL_OPTIONS = ("chain", "environment", "timeout")
    # The program is named in every message about it; secrets go in environment, which is masked whole.
    PUBLIC_OPTIONS = ("hook", "chain", "timeout")
    # Hooks are written for dehydrated, which runs them one at a time; many
    # read, change and write a zone or a record set and would race each other.
    CONCURRENCY = 1
    CAN_READ = False

    def configure(self, config: dict) -> None:
        hook = self.option_str(config, "hook")
        path = os.path.expanduser(hook)
        if "/" not in path:
            found = shutil.which(path)
            if found is None:
                raise self.config_error("hook", "is not an executable found in PATH", hook)
            path = found
        elif not os.path.isabs(path):
            raise self.config_error(
                "hook",
                "must be an absolute path or a command name in PATH (modules do not run in the playbook's directory)",
                hook,
            )
        if not os.path.isfile(path):
            raise self.config_error("hook", "is not an existing file", hook)
        if not os.access(path, os.X_OK):
            raise self.config_error("hook", "is not executable (chmod +x)", hook)
        self.hook: str = path
        self.chain: bool = self.option_bool(config, "chain", False)
        self.timeout = self.option_number(config, "timeout", 300, 1, 86400)
        environment = config.get("environment")
        if environment is None:
            environment = {}
        if not isinstance(environment, dict):
            raise self.config_error("environment", "must be a dictionary of variable names to values")
        self.environment: dict[str, str] = {}
        for key, value in environment.items():
            if not isinstance(key, str) or not key or "=" in key or "\0" in key:
                raise self.config_error("environment", "has an invalid variable name %r" % (key,))
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                # The value may be a secret: name the variable, never show the value.
                raise self.config_error("environment", "variable %r must be a string or a number" % key)
            if "\0" in str(value):
                raise self.config_error("environment", "variable %r holds a NUL character" % key)
            self.environment[key] = str(value)

    # ---------------------------------------------------------------- running
    def _run(self, verb: str, zone: str, pairs: list[tuple[str, str]], ttl: int | None) -> None:
        """Call the hook once for ``pairs``; raise ProviderError unless it exits 0 in time."""
        argv = [self.hook, verb]
        for fqdn, value in pairs:
            argv += [hook_domain(fqdn), value, value]
        # On top of the module's environment, which the hook inherits.
        environ_update = dict(self.environment)
        environ_update["CERTFLEET_ZONE"] = normalize(zone)
        environ_update["CERTFLEET_TXT_NAMES"] = " ".join(normalize(pair[0]) for pair in pairs)
        if ttl is not None:
            environ_update["CERTFLEET_TTL"] = str(ttl)
        names = sorted({normalize(pair[0]) for pair in pairs})
        record = names[0] if len(names) == 1 else None
        domains = " ".join(hook_domain(pair[0]) for pair in pairs)
        what = "hook %s %s %s" % (self.hook, verb, domains)
        if self.run_command is None:
            raise self.error(record, "%s: cannot run: no module to run it through" % what)
        try:
            done = run_bounded(self.run_command, argv, self.timeout, environ_update)
        except OSError as exc:
            raise self.error(record, "%s: cannot run: %s" % (what, exc)) from None
        if done.timed_out:
            raise self.error(
                record,
                "%s: no exit within %gs (the hook's timeout); stopped it and its children" % (what, self.timeout),
            )
        if done.rc == 0:
            return
        if done.rc < 0:
            status = "was killed by signal %d" % -done.rc
        else:
            status = "exited with code %d" % done.rc
        err = _tail(done.stderr)
        if err:
            detail = ": stderr: %s" % err
        else:
            out = _tail(done.stdout)
            detail = ": stdout: %s" % out if out else " (no output)"
        raise self.error(record, "%s %s%s" % (what, status, detail))

    def _calls(self, records: dict[str, list[str]]) -> list[list[tuple[str, str]]]:
        if self.chain:
            return call_rounds(records)
        return [[(fqdn, value)] for fqdn, values in records.items() for value in values]

    # -------------------------------------------------------------- interface
    def read_values(self, zone: str, fqdn: str) -> set[str]:
        """A hook cannot read; never called because ``CAN_READ`` is false."""
        return set()

    def add_values(self, zone: str, records: dict[str, list[str]], ttl: int) -> None:
        # Stop at the first failure: the certificates of this zone fail anyway,
        # and the clean-up calls clean_challenge for every value.
        for pairs in self._calls(records):
            self._run(DEPLOY, zone, pairs, ttl)

    def remove_values(self, zone: str, records: dict[str, list[str]]) -> None:
        # Try every value, so that one failing clean-up leaves no other value behind.
        errors = []
        for pairs in self._calls(records):
            try:
                self._run(CLEAN, zone, pairs, None)
            except ProviderError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise self.error(None, "; ".join(exc.message for exc in errors))
