// `ops completion bash|zsh`: the shell completion scripts. What never changes (the commands, the
// flags, the check groups, the drill's scenarios) is written into the script; what the host has
// (task ids, checklist names, target names, recent run ids) the script asks of `ops` at completion
// time, through the hidden `ops completion __words KIND`, which prints one word a line, never an
// error, and exits 0 (the script also sends its stderr to /dev/null).
import { loadChecklists } from '../checklists/model';
import { checklistJournal, listWalks, unfinishedWalks } from '../checklists/walk-journal';
import { configPath, loadConfigFile } from '../config/load';
import { SCENARIO_NAMES } from '../drill/drill';
import { UsageError } from '../errors';
import { Journal } from '../journal';
import { availableTasks } from '../tasks/session';
import type { TaskDef } from '../tasks/model';
import { CHECK_GROUPS } from '../types';
import { SESSION_STATES } from './sessions';

export const WORDS_COMMAND = '__words';
export const WORD_KINDS = ['tasks', 'checklists', 'targets', 'runs', 'walks', 'unfinished'] as const;
export type WordKind = (typeof WORD_KINDS)[number];

/** The commands `ops` completes (bin/main.ts COMMANDS, less the hidden ones), and each one's own flags. */
export const COMPLETION_COMMANDS: Record<string, readonly string[]> = {
  check: ['--json', '--only', '--format', '--output', '--all-targets'],
  run: ['--param', '--dry-run', '--yes', '--resume', '--json'],
  rollback: ['--yes', '--json'],
  history: ['--json', '--limit'],
  show: [],
  checklist: ['--yes', '--confirm', '--input', '--json'],
  report: [],
  drill: ['--scenario', '--keep'],
  sessions: ['--json', '--filter', '--state', '--db'],
  locks: ['--json'],
  config: [],
  console: [],
  completion: [],
  help: [],
};

export const GLOBAL_FLAGS = ['--target', '--database', '--refresh', '--read-only', '--no-color', '--debug', '--help', '--version'] as const;

/** Flags that take a value (the next word, or after `=`), and how the value completes. */
const VALUE_FLAGS: Record<string, { words?: WordKind; values?: readonly string[]; list?: boolean }> = {
  '--target': { words: 'targets' },
  '--database': {},
  '--refresh': {},
  '--only': { values: CHECK_GROUPS, list: true },
  '--format': { values: ['nagios', 'json', 'openmetrics'] },
  '--output': {},
  '--param': {},
  '--limit': {},
  '--resume': { words: 'runs' },
  '--confirm': {},
  '--input': {},
  '--scenario': { values: SCENARIO_NAMES, list: true },
  '--filter': {},
  '--state': { values: SESSION_STATES.filter((s) => !/[()]/.test(s)).map((s) => s.replace(/ /g, '-')) },
  '--db': {},
};

interface CompletionServices {
  /** the built-in tasks */
  readonly tasks: readonly TaskDef[];
}

/** A word a shell may take as it is: no spaces, quotes, `$` or control characters. */
const SAFE_WORD = /^[A-Za-z0-9][A-Za-z0-9._:@%+,=/-]*$/;

function safely(read: () => string[]): string[] {
  try {
    return read().filter((w) => SAFE_WORD.test(w) && w.length <= 200);
  } catch {
    return [];
  }
}

/** The words of one kind on this host, for `ops completion __words KIND`. Never throws. */
export function completionWords(kind: string, services: CompletionServices): string[] {
  const quiet = { onWarning: () => undefined };
  switch (kind) {
    case 'tasks':
      return safely(() => availableTasks(services.tasks).tasks.map((t) => t.id));
    case 'checklists':
      return safely(() => loadChecklists(availableTasks(services.tasks).tasks).checklists.map((c) => c.id));
    case 'targets':
      return safely(() => loadConfigFile(configPath()).targets.map((t) => t.name));
    case 'runs':
      return safely(() => new Journal(undefined, quiet).runs({ limit: 30 }).map((r) => r.run));
    case 'walks':
      return safely(() => listWalks(checklistJournal()).map((w) => w.run).slice(0, 30));
    case 'unfinished':
      return safely(() => unfinishedWalks(checklistJournal()).map((w) => w.run));
    default:
      return [];
  }
}

/** `ops completion bash|zsh`, and the hidden `ops completion __words KIND`. */
export function completionCommand(positionals: readonly string[], services: CompletionServices): string {
  const [shell, kind] = positionals;
  if (shell === WORDS_COMMAND) {
    const words = completionWords(kind ?? '', services);
    return words.length ? `${words.join('\n')}\n` : '';
  }
  if (positionals.length > 1) throw new UsageError(`completion: unexpected argument "${positionals[1]}"`);
  if (shell === 'bash') return bashScript();
  if (shell === 'zsh') return zshScript();
  throw new UsageError('completion: name a shell: ops completion bash, or ops completion zsh (then source its output, e.g. source <(ops completion bash))');
}

// ---------------------------------------------------------------- the scripts

const words = (list: readonly string[]) => list.join(' ');

/**
 * `_ops_candidates CWORD WORD0 WORD1 ...`: the candidates for word CWORD of the line, one a line,
 * unfiltered (the shell keeps those that start with what is typed); `__files__` asks for file
 * names. Written in the shell language bash and zsh share.
 */
function candidatesFunction(): string {
  const valueFlags = Object.keys(VALUE_FLAGS);
  const flagValues = Object.entries(VALUE_FLAGS)
    .filter(([, v]) => v.words || v.values)
    .map(([flag, v]) => `    ${flag}) ${v.words ? `_ops_words "$ops" ${v.words}` : `printf '%s\\n' ${words(v.values!)}`} ;;`);
  const commandFlags = Object.entries(COMPLETION_COMMANDS)
    .filter(([, flags]) => flags.length)
    .map(([cmd, flags]) => `    ${cmd}) printf '%s\\n' ${words(flags)} ;;`);
  return `_ops_words() {
  "$1" completion ${WORDS_COMMAND} "$2" 2>/dev/null </dev/null
}

_ops_flag_values() {
  # $1 the flag, $2 the path of ops
  local ops=$2
  case "$1" in
${flagValues.join('\n')}
  esac
}

_ops_candidates() {
  local cword=$1 ops=$2
  shift 2
  case "$ops" in "~/"*) ops="$HOME/\${ops#"~/"}" ;; esac
  command -v "$ops" >/dev/null 2>&1 || ops=ops
  local i=1 cmd='' first='' npos=0 skip='' prev='' prev2='' cur='' w
  for w in "$@"; do
    if [ "$i" -eq "$cword" ]; then cur=$w; break; fi
    if [ -n "$skip" ]; then
      skip=''
    elif [ "$w" = = ]; then
      skip=1
    else
      case "$w" in
        ${valueFlags.join('|')}) skip=1 ;;
        -*) ;;
        *)
          if [ -z "$cmd" ]; then cmd=$w
          else
            [ "$npos" -eq 0 ] && first=$w
            npos=$((npos + 1))
          fi ;;
      esac
    fi
    prev2=$prev
    prev=$w
    i=$((i + 1))
  done

  # a flag's value: --flag VALUE, --flag=VALUE (bash splits it at '='), a comma list's next item
  local flag='' pre=''
  case "$cur" in
    --*=*) flag=\${cur%%=*}; pre="$flag="; cur=\${cur#*=} ;;
    *)
      if [ "$prev" = = ]; then flag=$prev2
      else case "$prev" in ${valueFlags.join('|')}) flag=$prev ;; esac
      fi ;;
  esac
  if [ -n "$flag" ]; then
    case "$cur" in *,*) pre="$pre\${cur%,*}," ;; esac
    _ops_flag_values "$flag" "$ops" | while IFS= read -r w; do printf '%s\\n' "$pre$w"; done
    return 0
  fi

  case "$cur" in
    -*)
      printf '%s\\n' ${words(GLOBAL_FLAGS)}
      case "$cmd" in
${commandFlags.map((l) => `  ${l}`).join('\n')}
      esac
      return 0 ;;
  esac

  if [ -z "$cmd" ]; then
    printf '%s\\n' ${words(Object.keys(COMPLETION_COMMANDS))}
    return 0
  fi
  case "$cmd:$npos" in
    run:0) _ops_words "$ops" tasks ;;
    rollback:0|show:0) _ops_words "$ops" runs ;;
    checklist:0) printf '%s\\n' show run resume; _ops_words "$ops" checklists ;;
    checklist:1)
      case "$first" in
        show|run) _ops_words "$ops" checklists ;;
        resume) _ops_words "$ops" unfinished ;;
      esac ;;
    report:0) _ops_words "$ops" walks ;;
    drill:0) printf '%s\\n' clean ;;
    config:0) printf '%s\\n' path show validate get set ;;
    config:1) [ "$first" = validate ] && printf '%s\\n' __files__ ;;
    completion:0) printf '%s\\n' bash zsh ;;
    help:0) printf '%s\\n' ${words(Object.keys(COMPLETION_COMMANDS).filter((c) => c !== 'help'))} ;;
  esac
  return 0
}`;
}

function bashScript(): string {
  return `# bash completion for ops (ops-console). Load it with: source <(ops completion bash)
# or install it as /usr/share/bash-completion/completions/ops (the .deb does).
${candidatesFunction()}

_ops() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n' list
  [ "$cur" = = ] && cur=''
  list=$(_ops_candidates "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null)
  if [ "$list" = __files__ ]; then
    COMPREPLY=($(compgen -f -- "$cur" 2>/dev/null))
  else
    COMPREPLY=($(compgen -W "$list" -- "$cur" 2>/dev/null))
  fi
  return 0
}

complete -F _ops ops
`;
}

function zshScript(): string {
  return `#compdef ops
# zsh completion for ops (ops-console). Load it with: source <(ops completion zsh) (after compinit)
# or install it as _ops in a directory of $fpath.
${candidatesFunction()}

_ops() {
  local -a list
  list=(\${(f)"$(_ops_candidates $((CURRENT - 1)) "\${words[@]}" 2>/dev/null)"})
  if [[ "\${list[1]}" == __files__ ]]; then
    _files
  else
    compadd -- "\${list[@]}"
  fi
}

if [ "$funcstack[1]" = "_ops" ]; then
  _ops "$@"
else
  compdef _ops ops
fi
`;
}
