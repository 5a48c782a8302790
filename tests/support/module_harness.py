"""The community.postgresql unit-test idiom: set_module_args, and exit_json/fail_json turned
into exceptions carrying the result."""
import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16-2.18 (make test-matrix): the older idiom
    @contextlib.contextmanager
    def patch_module_args(args):
        old = getattr(basic, "_ANSIBLE_ARGS", None)
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class AnsibleExitJson(Exception):
    """exit_json was called; args[0] is the result."""


class AnsibleFailJson(Exception):
    """fail_json was called; args[0] is the result."""


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def _fail_json(self, **kwargs):
    kwargs["failed"] = True
    raise AnsibleFailJson(kwargs)


def patch_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)


def set_module_args(args):
    """Context manager giving ``args`` to the next AnsibleModule."""
    args = dict(args)
    args.setdefault("_ansible_remote_tmp", "/tmp")
    args.setdefault("_ansible_keep_remote_files", False)
    # A unit test writes nothing to the machine's syslog (no_target_syslog = True sends this). It
    # also keeps the module's own validation under test: on Python 3.13, ansible-core's logging
    # of the invocation refuses a NUL byte before the module sees it.
    args.setdefault("_ansible_no_log", True)
    return patch_module_args(args)


def run_module(module, args):
    """Runs module.main() with args; returns ('exit'|'fail', result)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(set_module_args(args))
        try:
            module.main()
        except AnsibleExitJson as e:
            return "exit", e.args[0]
        except AnsibleFailJson as e:
            return "fail", e.args[0]
    raise AssertionError("module returned without exit_json or fail_json")
