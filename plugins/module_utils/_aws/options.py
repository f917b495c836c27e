# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of every AWS task: names and aliases, which are secret, and their module argument spec.

The names and aliases are amazon.aws's (``access_key``, ``secret_key``,
``session_token``, ``profile``, ``region``, ``endpoint_url``, ``aws_ca_bundle``,
``validate_certs``, ``aws_config``), so ``module_defaults`` written for
``group/amazon.aws.aws`` and our users' amazon.aws habits apply unchanged; the
names this collection used before (``aws_access_key_id``, ``aws_profile``, ...)
are among the aliases, so existing playbooks keep working.

Kept apart from the session (which imports boto3) so that the role's input
check, a filter on the controller, and the Route 53 provider's entry check know
these names without loading the AWS SDK. The options are documented once, in
doc_fragments/aws.py.
"""

from __future__ import annotations

#: Option name -> argument spec, except the region's environment fallback (see connection_argument_spec).
_SPEC = {
    "access_key": {"type": "str", "no_log": True, "aliases": ["aws_access_key_id", "aws_access_key"]},
    "secret_key": {"type": "str", "no_log": True, "aliases": ["aws_secret_access_key", "aws_secret_key"]},
    "session_token": {"type": "str", "no_log": True, "aliases": ["aws_session_token"]},
    "profile": {"type": "str", "aliases": ["aws_profile"]},
    "region": {"type": "str", "aliases": ["aws_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"]},
    "aws_ca_bundle": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "aws_config": {"type": "dict"},
}
CONNECTION_OPTIONS = tuple(_SPEC)
#: Alias -> option name.
ALIASES = {alias: name for name, spec in _SPEC.items() for alias in spec.get("aliases", ())}
#: Every name an AWS connection option is accepted under: the options, then their aliases.
CONNECTION_NAMES = CONNECTION_OPTIONS + tuple(ALIASES)
#: Connection options and aliases whose values are never shown.
SECRET_OPTIONS = tuple(name for name in CONNECTION_NAMES if _SPEC[ALIASES.get(name, name)].get("no_log"))
#: The environment variables a missing region is read from.
REGION_VARIABLES = ["AWS_REGION", "AWS_DEFAULT_REGION"]


def names_of(option: str) -> tuple[str, ...]:
    """``option`` and its aliases, in the order they are documented."""
    return (option,) + tuple(_SPEC[option].get("aliases", ()))


def partner_name(name: str) -> str:
    """The name of the other half of a key pair in the same naming style (``aws_access_key_id`` ->
    ``aws_secret_access_key``, ``access_key`` -> ``secret_key``), for messages that name what is missing."""
    pairs = (names_of("access_key"), names_of("secret_key"))
    for mine, other in (pairs, pairs[::-1]):
        if name in mine:
            return other[mine.index(name)]
    raise ValueError("%r is no name of access_key or secret_key" % name)


def connection_argument_spec() -> dict:
    """The connection options as a module argument spec (a fresh copy: AnsibleModule may change it)."""
    from ansible.module_utils.basic import env_fallback  # only modules need it, not the role's filters

    spec = {name: dict(option) for name, option in _SPEC.items()}
    for option in spec.values():
        if "aliases" in option:
            option["aliases"] = list(option["aliases"])
    spec["region"]["fallback"] = (env_fallback, list(REGION_VARIABLES))
    return spec


def _is_unset(value) -> bool:
    return value is None


def connection_settings(entry: dict, unset=_is_unset) -> tuple[dict, list[tuple[str, str]]]:
    """The connection options of a dict that may use any of the names, by option name; and the conflicts.

    Returns ``(settings, conflicts)``: ``settings`` maps each option that is
    set (under whichever name) to its value; ``conflicts`` lists
    ``(field, reason)`` for each option given under two names at once, which
    is refused rather than silently picking one. ``unset`` says which values
    count as not given (the role also treats an empty string so).
    """
    settings: dict = {}
    conflicts = []
    for option in CONNECTION_OPTIONS:
        given = [name for name in names_of(option) if name in entry and not unset(entry[name])]
        if given:
            settings[option] = entry[given[0]]
        if len(given) > 1:
            conflicts.append(
                (
                    given[1],
                    "is another name of %s, which is also given as %s: set only one of %s"
                    % (option, given[0], ", ".join(names_of(option))),
                )
            )
    return settings, conflicts
