"""Runs a Tiltfile with starlark-go and prints, as JSON, every call it made to Tilt's functions.

Tilt's functions are replaced by Starlark stand-ins that record their arguments (and return placeholders
where Tilt returns a value), so the Tiltfile's own logic runs for real, offline, with no cluster or Docker.
The dialect options are Tilt's: top-level if/for and reassignment, sets, recursion.
Usage: python run-tiltfile.py <Tiltfile>
"""
import glob
import json
import os
import sys

import starlark_go

STANDINS = '''
calls = []

def _record(fn, **kwargs):
    calls.append({"fn": fn, "args": kwargs})

TRIGGER_MODE_AUTO = "auto"
TRIGGER_MODE_MANUAL = "manual"

def read_json(path, default=None):
    if path in _json_files:
        return _json_files[path]
    if default != None:
        return default
    fail("read_json: %s is not a file the stand-in knows" % path)

def allow_k8s_contexts(contexts):
    _record("allow_k8s_contexts", contexts=contexts)

def update_settings(**kwargs):
    _record("update_settings", **kwargs)

def docker_build(ref, context, **kwargs):
    _record("docker_build", ref=ref, context=context, **kwargs)

def sync(local_path, remote_path):
    return {"sync": {"local": local_path, "remote": remote_path}}

def run(cmd, trigger=None):
    return {"run": {"cmd": cmd, "trigger": trigger}}

def fall_back_on(files):
    return {"fall_back_on": files}

def local(command, quiet=False, **kwargs):
    _record("local", command=command)
    return ""

def helm(paths, name=None, namespace=None, values=None, set=None, **kwargs):
    _record("helm", paths=paths, name=name, namespace=namespace, values=values or [], set=set or [])
    return {"yaml": "helm", "filters": []}

def filter_yaml(yaml, labels=None, name=None, namespace=None, kind=None, api_version=None):
    _record("filter_yaml", name=name, kind=kind, labels=labels)
    matching = {"yaml": yaml["yaml"], "filters": yaml["filters"] + [{"keep": name}]}
    rest = {"yaml": yaml["yaml"], "filters": yaml["filters"] + [{"drop": name}]}
    return matching, rest

def encode_yaml(obj):
    return {"yaml": "object", "object": obj}

def k8s_yaml(yaml, **kwargs):
    _record("k8s_yaml", yaml=yaml)

def watch_file(path):
    _record("watch_file", path=path)

def link(url, name=None):
    return {"link": url, "name": name}

def k8s_resource(workload="", **kwargs):
    _record("k8s_resource", workload=workload, **kwargs)

def local_resource(name, cmd=None, **kwargs):
    _record("local_resource", name=name, cmd=cmd, **kwargs)
'''


def json_files(root):
    """The JSON files a Tiltfile may read with read_json, by their path relative to it."""
    paths = [os.path.join("services", "registry.json")]
    paths += [os.path.relpath(found, root) for found in glob.glob(os.path.join(root, "services", "*", "package.json"))]
    files = {}
    for relative in paths:
        with open(os.path.join(root, relative), encoding="utf-8") as handle:
            files[relative] = json.load(handle)
    return files


def main(path):
    starlark_go.configure_starlark(allow_set=True, allow_global_reassign=True, allow_recursion=True)
    interpreter = starlark_go.Starlark()
    interpreter.set(_json_files=json_files(os.path.dirname(os.path.abspath(path))))
    with open(path, encoding="utf-8") as source:
        tiltfile = source.read()
    # One module: Starlark freezes a module's globals once it has run, so the stand-ins cannot record into a
    # list defined by an earlier exec. Line numbers in errors are offset by the stand-ins' length.
    interpreter.exec(STANDINS + tiltfile, filename=path)
    print(json.dumps(interpreter.get("calls")))


if __name__ == "__main__":
    main(sys.argv[1])
