#!/bin/bash
# Entry point of every talkingface-kit image: check the volumes a command refers to, then run the command.
#
#   talkingface-entrypoint python -m dagan.animate --source_image /data/a.png ...   (the image's ENTRYPOINT + args)
#
# Stages read and write only the mounted volumes /data (inputs), /checkpoints (weights) and /outputs (results).
# Before the command starts, every absolute path argument under one of them is checked, so that a forgotten -v or a
# missing file is reported in one line naming the path (exit 2) instead of deep inside the program:
#   * the volume holding it must be mounted (a path under an unmounted /outputs would vanish with the container);
#   * the value of an output flag (--save_folder, --output_path, --result_video, ...) must be writable;
#   * the value of any other flag must exist (inputs, weights, configs);
#   * positional paths are only checked for their volume (they may be inputs or outputs).
# Weights that a command finds by itself (TALKINGFACE_CHECKPOINTS=/checkpoints) are reported by the kit, naming the
# file. TALKINGFACE_SKIP_VOLUME_CHECK=1 turns the checks off; TALKINGFACE_VOLUMES (space-separated) replaces the
# list of volume folders (tests).
set -euo pipefail

read -r -a VOLUMES <<<"${TALKINGFACE_VOLUMES:-/data /checkpoints /outputs}"
OUTPUT_FLAGS=" --save_folder --output_path --output --out --output_dir --out_dir --result_video --result_dir \
--save_dir --log_dir --cache_dir --template_cache --save_path --result --results_dir "

die() { echo "error: $*" >&2; exit 2; }

# The longest mount point that holds PATH (from /proc/self/mountinfo, field 5).
mount_of() {
  local path=$1 best=/ mp
  while read -r mp; do
    if [ "$path" = "$mp" ] || [[ "$path" == "$mp"/* ]]; then
      if [ ${#mp} -gt ${#best} ]; then best=$mp; fi
    fi
  done < <(awk '{print $5}' /proc/self/mountinfo)
  echo "$best"
}

# The volume root (/data, /checkpoints, /outputs) a path lies in, or nothing.
volume_of() {
  local v
  for v in "${VOLUMES[@]}"; do
    if [ "$1" = "$v" ] || [[ "$1" == "$v"/* ]]; then echo "$v"; return; fi
  done
}

check_path() {  # check_path FLAG PATH KIND(input|output|any)
  local flag=$1 path=$2 kind=$3 vol mp dir
  vol=$(volume_of "$path")
  [ -n "$vol" ] || return 0
  local what="${flag:+$flag }$path"
  mp=$(mount_of "$path")
  if [ "$mp" != "$vol" ] && [[ "$mp" != "$vol"/* ]]; then
    die "$what: the $vol volume is not mounted (run with -v HOST_FOLDER:$vol)"
  fi
  case "$kind" in
    input)
      [ -e "$path" ] || die "$what: not found (expected in the $vol volume, mounted from the host)" ;;
    output)
      dir=$path
      while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
      [ -d "$dir" ] || dir=$(dirname "$dir")
      [ -w "$dir" ] || die "$what: cannot write in $dir as uid $(id -u) (make the host folder writable, or run" \
        "with --user \$(id -u):\$(id -g))" ;;
  esac
}

if [ "${TALKINGFACE_SKIP_VOLUME_CHECK:-0}" != 1 ] && [ $# -gt 0 ]; then
  args=("$@")
  help=0
  for a in "${args[@]}"; do case "$a" in -h|--help) help=1 ;; esac; done
  if [ "$help" = 0 ]; then
    flag=""
    for a in "${args[@]}"; do
      value=$a this_flag=$flag
      if [[ "$a" == --*=* ]]; then this_flag=${a%%=*}; value=${a#*=}; flag=""
      elif [[ "$a" == -* ]]; then flag=$a; continue
      else flag=""
      fi
      if [ -z "$this_flag" ]; then kind=any
      elif [[ "$OUTPUT_FLAGS" == *" $this_flag "* ]]; then kind=output
      else kind=input
      fi
      IFS=, read -r -a parts <<<"$value"
      for p in "${parts[@]}"; do
        if [[ "$p" == /* ]]; then check_path "$this_flag" "$p" "$kind"; fi
      done
    done
    if [ "${TALKINGFACE_USES_WEIGHTS:-0}" = 1 ] && [ "$(mount_of "${VOLUMES[1]}")" != "${VOLUMES[1]}" ]; then
      echo "note: ${VOLUMES[1]} is not mounted: weights are looked up there (TALKINGFACE_CHECKPOINTS); mount the" \
        "kit's checkpoints/ folder with -v HOST_FOLDER:${VOLUMES[1]}:ro" >&2
    fi
  fi
fi
exec "$@"
