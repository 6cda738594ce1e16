#!/usr/bin/env bash
# Regenerate talkingface/data/sample_speech.wav, the speech track of the kit's embedded sample.
# It was synthesized once with espeak-ng (GPL-3.0 program; its output audio is not covered by the GPL) and is
# committed, so the sample needs no speech synthesizer at run time. Needs: apt-get install espeak-ng sox.
set -euo pipefail
out=${1:-"$(dirname "$0")/../talkingface/data/sample_speech.wav"}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/raw.wav" "Talking faces move their lips in time with the words they speak."
# 16 kHz mono 16-bit, 0.2 s of silence at both ends, normalised to -3 dBFS.
sox "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$out" pad 0.2 0.2 norm -3
soxi "$out"
