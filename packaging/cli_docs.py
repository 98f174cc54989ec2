#!/usr/bin/env python3
"""Generates the man pages and the bash completion from the binary itself, so that they
cannot drift from the code: the commands come from `pg_lockwatch help`, and each one's
synopsis, text and options from `pg_lockwatch COMMAND --help` (whose option lines
describe_options() renders from the option specs the parser uses).

    cli_docs.py BINARY OUT_DIR
writes OUT_DIR/man/pg_lockwatch.1.gz, OUT_DIR/man/pg_lockwatch-COMMAND.1.gz for each
command, and OUT_DIR/pg_lockwatch.bash. Fails (exit 1, one line) when a command's help
cannot be read, rather than write an empty page."""

import gzip
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

PROGRAM = "pg_lockwatch"
SUMMARY = "watch PostgreSQL for blocking chains, export them, and end their roots by policy"
OPTION_LINE = re.compile(r"^  --([a-z0-9][a-z0-9-]*)( VALUE)?(?: +(.*))?$")
COMMAND_LINE = re.compile(r"^  ([a-z][a-z0-9-]*) *(.*)$")


@dataclass
class Option:
    name: str
    takes_value: bool
    help: str

    @property
    def takes_file(self):
        return self.takes_value and re.search(r"\bfile\b", self.help, re.I) is not None


@dataclass
class Command:
    name: str
    summary: str
    synopsis: list
    text: list  # paragraphs, each a list of lines
    options: list = field(default_factory=list)
    words: list = field(default_factory=list)  # literal words after the name (config check)
    takes_file: bool = False  # a FILE argument after the words


def run(binary, *args):
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        sys.exit(f"cli_docs: {PROGRAM} {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def paragraphs(lines):
    out, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def split_usage(lines):
    """The synopsis (the usage line and the lines indented under it) and the rest."""
    assert lines and lines[0].startswith("usage: "), lines[:1]
    synopsis = [lines[0][len("usage: "):]]
    i = 1
    while i < len(lines) and lines[i].startswith(" " * len("usage: ")):
        synopsis.append(lines[i].strip())
        i += 1
    return synopsis, lines[i:]


def positionals(synopsis, options):
    """Literal words and whether a FILE follows, outside brackets and option values."""
    words, takes_file, depth, skip = [], False, 0, False
    valued = {"--" + o.name for o in options if o.takes_value}
    for token in " ".join(synopsis).split()[2:]:
        outside = depth == 0 and token[0] not in "([|"
        depth += token.count("(") + token.count("[") - token.count(")") - token.count("]")
        if not outside or skip:
            skip = False
            continue
        if token == "<":
            break
        if token.startswith("--"):
            skip = token in valued
        elif token == "FILE":
            takes_file = True
        elif re.fullmatch(r"[a-z][a-z-]*", token):
            words.append(token)
    return words, takes_file


def read_command(binary, name, summary):
    lines = run(binary, name, "--help").splitlines()
    synopsis, rest = split_usage(lines)
    options = [Option(m[1], bool(m[2]), m[3] or "") for m in map(OPTION_LINE.match, rest) if m]
    if not any(o.name == "help" for o in options):  # it answered --help just now
        options.append(Option("help", False, "this text"))
    text = [l for l in rest if not OPTION_LINE.match(l) and l.strip() != "options:"]
    words, takes_file = positionals(synopsis, options)
    if words and summary.startswith(words[0] + " "):  # "config check  validate a file"
        summary = summary[len(words[0]):].strip()
    return Command(name, summary, synopsis, paragraphs(text), options, words, takes_file)


def read_commands(binary):
    """The top-level help's paragraphs and its commands (all but `help`)."""
    lines = run(binary, "help").splitlines()
    start = lines.index("commands:")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    commands = []
    for line in lines[start + 1:end]:
        m = COMMAND_LINE.match(line)
        if m and m[1] != "help":
            commands.append(read_command(binary, m[1], m[2]))
    intro = paragraphs(lines[:start] + lines[end:])
    return intro, commands


def roff(text):
    text = text.replace("\\", "\\e")
    # Every dash of an option (--only-blocking) is a minus, so that it can be copied; a
    # hyphen in a word (idle-in-transaction sessions) stays a hyphen.
    text = re.sub(r"(?<![\w-])--?[\w-]*", lambda m: m[0].replace("-", "\\-"), text)
    return "\\&" + text if text[:1] in ".'" else text


def page_header(name, version, summary):
    return [f'.TH {name.upper()} 1 "" "{PROGRAM} {version}" "User Commands"',
            ".SH NAME", f"{name} \\- {roff(summary)}"]


def text_section(title, paras):
    out = [f".SH {title}"]
    for i, para in enumerate(paras):
        if i:
            out.append(".PP")
        out.extend(roff(line.strip()) for line in para)
    return out


def command_page(command, version):
    out = page_header(f"{PROGRAM}-{command.name}", version, command.summary)
    synopsis = command.synopsis[:1] + ["    " + line for line in command.synopsis[1:]]
    out += [".SH SYNOPSIS", ".nf"] + [roff(line) for line in synopsis] + [".fi"]
    out += text_section("DESCRIPTION", command.text)
    out.append(".SH OPTIONS")
    for o in command.options:
        name = "\\-\\-" + o.name.replace("-", "\\-")
        out += [".TP", f'.BI {name} " VALUE"' if o.takes_value else f".B {name}", roff(o.help)]
    out += [".SH SEE ALSO", f".BR {PROGRAM} (1)"]
    return out


def main_page(intro, commands, version):
    out = page_header(PROGRAM, version, SUMMARY)
    out += [".SH SYNOPSIS", f".B {PROGRAM}", ".I COMMAND", "[\\fIOPTIONS\\fR]", ".br",
            f".B {PROGRAM} \\-\\-version"]
    out += text_section("DESCRIPTION", [p for p in intro if not p[0].startswith("usage:")])
    out.append(".SH COMMANDS")
    for c in commands:
        out += [".TP", f".BR {PROGRAM}\\-{c.name} (1)", roff(c.summary)]
    out += [".SH FILES", ".TP", ".I /etc/pg_lockwatch/pg_lockwatch.toml",
            "the daemon's configuration (every key: /usr/share/doc/pg_lockwatch/pg_lockwatch.toml)",
            ".TP", ".I /etc/pg_lockwatch/dsn",
            "the connection string with its password (0600 root), handed to the service as a "
            "systemd credential", ".SH SEE ALSO",
            ",\n".join(f".BR {PROGRAM}\\-{c.name} (1)" for c in commands) + ",",
            ".BR systemd.exec (5)"]
    return out


def completion(commands, version):
    def words(items):
        return shlex.quote(" ".join(items))

    cases = []
    for c in commands:
        cases.append(f"    {c.name})\n"
                     f"      options={words('--' + o.name for o in c.options)}\n"
                     f"      valued={words('--' + o.name for o in c.options if o.takes_value)}\n"
                     f"      files={words('--' + o.name for o in c.options if o.takes_file)}\n"
                     f"      positional=({' '.join(c.words)}{' FILE' if c.takes_file else ''})\n"
                     "      ;;")
    names = " ".join(c.name for c in commands)
    return f"""# bash completion for {PROGRAM} {version}; generated from its --help by
# packaging/cli_docs.py: do not edit.
_pg_lockwatch_files() {{
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}}

_pg_lockwatch() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  if [[ $COMP_CWORD -eq 1 ]]; then
    mapfile -t COMPREPLY < <(compgen -W "{names} help --help --version" -- "$cur")
    return
  fi
  local options="" valued="" files="" positional=()
  case ${{COMP_WORDS[1]}} in
{chr(10).join(cases)}
    *) return ;;
  esac
  if [[ " $valued " == *" $prev "* ]]; then
    [[ " $files " == *" $prev "* ]] && _pg_lockwatch_files
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    return
  fi
  # The n-th word that is neither an option nor an option's value.
  local i n=0
  for ((i = 2; i < COMP_CWORD; i++)); do
    [[ ${{COMP_WORDS[i]}} == -* || " $valued " == *" ${{COMP_WORDS[i - 1]}} "* ]] || n=$((n + 1))
  done
  if [[ ${{positional[n]:-}} == FILE ]]; then
    _pg_lockwatch_files
  elif [[ -n ${{positional[n]:-}} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${{positional[n]}}" -- "$cur")
  fi
}}
complete -F _pg_lockwatch {PROGRAM}
"""


def write_page(path, lines):
    with open(path, "wb") as raw:  # mtime 0 and no name: the same bytes on every build
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(("\n".join(lines) + "\n").encode())


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cli_docs.py BINARY OUT_DIR")
    binary, out = sys.argv[1], sys.argv[2]
    version = run(binary, "--version").split()[-1]
    intro, commands = read_commands(binary)
    os.makedirs(os.path.join(out, "man"), exist_ok=True)
    write_page(os.path.join(out, "man", f"{PROGRAM}.1.gz"), main_page(intro, commands, version))
    for c in commands:
        write_page(os.path.join(out, "man", f"{PROGRAM}-{c.name}.1.gz"), command_page(c, version))
    with open(os.path.join(out, f"{PROGRAM}.bash"), "w") as f:
        f.write(completion(commands, version))


if __name__ == "__main__":
    main()
