#!/usr/bin/env python3
"""What systemd would run for a unit of an installed root, as shell words (no systemd in a chroot).

    unit_exec.py ROOT UNIT      prints KEY=VALUE lines: USER, GROUP, WORKDIR, STATE_DIRS,
                                CREDENTIALS (name:path ...), ENV_<i> (one per variable, in the
                                order systemd applies them), EXEC (the ExecStart line)

Reads ROOT/lib/systemd/system/UNIT: Environment= then EnvironmentFile= (whose settings win,
as in systemd), ExecStart=, User=, Group=, WorkingDirectory=, StateDirectory=, LoadCredential=;
the specifier %d is the credentials directory /run/credentials/UNIT. Only what quant's units
use is understood; anything else that changes how the process starts is an error.
"""
import shlex
import sys

root, unit = sys.argv[1], sys.argv[2]
cred_dir = f"/run/credentials/{unit}"


def spec(v):
    return v.replace("%d", cred_dir).replace("%%", "%")


def env_file(path):
    """systemd's EnvironmentFile= format: KEY=VALUE lines, # and ; comments, optional quotes."""
    out = []
    with open(root + path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            k, _, v = line.partition("=")
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out.append((k.strip(), v))
    return out


env, env_files, cfg = [], [], {"User": "root", "Group": "", "WorkingDirectory": "/", "ExecStart": ""}
states, creds = [], []
section = None
with open(f"{root}/lib/systemd/system/{unit}") as f:
    for line in f:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        k, _, v = line.partition("=")
        if k == "Environment":
            for word in shlex.split(v):
                a, _, b = word.partition("=")
                env.append((a, spec(b)))
        elif k == "EnvironmentFile":
            env_files.append(v)
        elif k in ("User", "Group", "WorkingDirectory", "ExecStart"):
            cfg[k] = v
        elif k == "StateDirectory":
            states += v.split()
        elif k == "LoadCredential":
            creds.append(v)
        elif k in ("ExecStartPre", "ExecStartPost", "RootDirectory", "RuntimeDirectory", "DynamicUser"):
            sys.exit(f"unit_exec.py: {unit}: {k}= is not emulated")
for path in env_files:
    optional = path.startswith("-")
    try:
        env += env_file(path.lstrip("-"))
    except FileNotFoundError:
        if not optional:
            sys.exit(f"unit_exec.py: {unit}: EnvironmentFile {path} is missing")
print(f"USER={shlex.quote(cfg['User'])}")
print(f"GROUP={shlex.quote(cfg['Group'] or cfg['User'])}")
print(f"WORKDIR={shlex.quote(cfg['WorkingDirectory'])}")
print(f"STATE_DIRS={shlex.quote(' '.join(states))}")
print(f"CREDENTIALS={shlex.quote(' '.join(creds))}")
print(f"CRED_DIR={shlex.quote(cred_dir)}")
for i, (k, v) in enumerate(env):
    print(f"ENV_{i}={shlex.quote(k + '=' + v)}")
print(f"EXEC={shlex.quote(spec(cfg['ExecStart']))}")
