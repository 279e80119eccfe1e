#!/bin/sh
# Writes fmalens.1 (roff) from the program's own help, so the man page always says what the
# build it ships with does: the window's options, then each subcommand's.
# Usage: tools/make_manpage.sh path/to/fmalens VERSION OUT.1
set -eu
bin=$1
version=$2
out=$3
# Written beside and renamed: a failed run never leaves half a page.
trap 'rm -f "$out.tmp"' EXIT
exec > "$out.tmp"
# Help text as roff: escape backslashes and leading dots/quotes, keep the layout as is.
as_roff() { sed -e "s#$bin#fmalens#g" -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
cat <<HEAD
.TH FMALENS 1 "" "fmalens $version" "User Commands"
.SH NAME
fmalens \- look inside Fast Multipole Attention models
.SH SYNOPSIS
.B fmalens
[\fIOPTIONS\fR]
.br
.B fmalens
\fICOMMAND\fR [\fIOPTIONS\fR]
.SH DESCRIPTION
Without a command, FMA Lens opens its window on the bundled text model (or on the checkpoint,
text or image the options name) and draws the hierarchical attention matrix, the level
breakdown, the learned downsampling weights, 2D region maps, the text, the model and a
comparison with exact attention. With a command, the same engine trains, evaluates, inspects,
exports figures and benchmarks from the command line.
.SH WINDOW OPTIONS
.nf
HEAD
DISPLAY= "$bin" --help | as_roff
echo ".fi"
for cmd in train eval info inspect export bench; do
  echo ".SH COMMAND: $cmd"
  echo ".nf"
  "$bin" "$cmd" --help | as_roff
  echo ".fi"
done
cat <<TAIL
.SH FILES
.TP
.I \$XDG_CONFIG_HOME/fmalens/settings.json
The window's settings (views, colormap, recent files, tokenizers per checkpoint).
.TP
.I /usr/share/fmalens
The bundled models and samples (also found at ../share/fmalens beside the program, in
\$XDG_DATA_DIRS, or where --assets or FMALENS_ASSETS say).
.SH EXIT STATUS
0 on success, 2 for bad input (one line on stderr names the file and the rule), 1 when the
environment fails (no display, a write error).
TAIL
exec >&-
mv "$out.tmp" "$out"
