#!/usr/bin/env bash
# man-page.sh PAGE.md OUT VERSION: writes OUT, the gzip'd man page of
# docs/commands/PAGE.md, rendered by go-md2man ($GO_MD2MAN, else the one on
# PATH). README.md (the command index)
# becomes envflow(1), NAME.md becomes envflow-NAME(1). The pages stay plain
# Markdown for the web; this adds what a man page has on top:
# - NAME, one line as whatis and apropos read it (`envflow-sync \- promote
#   …`), from the page's row in README.md's table (envflow(1): fixed),
# - SYNOPSIS from the page's first code block (else the table's command),
# - "## Heading" as a man section (upper case), links as their text,
# - tables as tagged paragraphs (.TP), the way man pages list options,
# - SEE ALSO: envflow(1) and the Markdown pages of the installed docs.
# A page must render with no troff warning (`man --warnings`, `groff -ww`):
# tests/e2e/test_package.sh checks every page.
set -euo pipefail
page=$1 out=$2 version=$3
dir=$(dirname "$page")
base=$(basename "$page" .md)
index="$dir/README.md"

# The cells of the page's row in README.md's table:
# | [`envflow hotfix start NAME` / `finish`](hotfix.md) | Ship an urgent fix … |
row_cell() { # row_cell N: cell N (1 = command, plain text; 2 = description) of the row
  awk -v link="](${base}.md)" -v n="$1" '
    /^\|/ && index($0, link) {
      gsub(/\\\|/, "\001")
      split($0, cell, /[ \t]*\|[ \t]*/)
      text = cell[n + 1]
      if (n == 1) gsub(/\[|\]\([^)]*\)|`/, "", text)
      gsub(/\001/, "|", text)
      print text
      exit
    }' "$index"
}
if [ "$base" = README ]; then
  name=envflow
  summary="a content-as-code release pipeline on plain git"
else
  name="envflow-$base"
  summary=$(row_cell 2)
  [ -n "$summary" ] || { echo "man-page.sh: $base.md has no line in $index" >&2; exit 1; }
fi
# NAME is one short line of plain text: links become their text, no code
# marks, no parenthesised asides, the first letter in lower case as man pages
# have it, and only up to the first "; " (what follows is detail).
summary=$(sed -E 's/\[([^]]*)\]\(([^)]*)\)/\1/g; s/`//g; s/ \([^)]*\)//g; s/; .*$//; s/^(.)/\L\1/' \
  <<<"$summary")

body() { # the page without its title, links as text, ## headings as sections
  sed -E '1{/^# /d}' "$page" | sed -E '
    /^```/,/^```/b
    s/\[(`[^`]*`)\]\([^)]*\)/\1/g
    s/\[([^]]*)\]\((https?:[^)]*)\)/\1 <\2>/g
    s/\[([^]]*)\]\([^)]*\)/\1/g
    s/^## (.*)$/# \U\1/'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# What go-md2man 2.0.2 gets wrong, done before it runs:
# - Tables become definition lists, which it writes as tagged paragraphs (.TP),
#   the way man pages list options: the first cell is the tag, the second the
#   text; with more columns each further cell is a line of the text headed by
#   its column's name. Its tbl tables fit neither a terminal (cells too narrow
#   for a path or a URL: "can't break line") nor a page (allbox tables are
#   kept whole).
# - Code blocks are set aside (written to $tmp/code.N, a line CODE.N in their
#   place) and written as roff below: after a list it would make one a code
#   span of the list's last item, filled and justified.
prepare() {
  awk -v dir="$tmp" '
    function cells(line, out,   n, i) {
      gsub(/\\\|/, "\001", line)           # an escaped | is text, not a cell border
      sub(/^[ \t]*\|[ \t]*/, "", line)
      sub(/[ \t]*\|[ \t]*$/, "", line)
      n = split(line, out, /[ \t]*\|[ \t]*/)
      for (i = 1; i <= n; i++) gsub(/\001/, "|", out[i])
      return n
    }
    code && /^```/ { code = 0; close(file); print ""; print "ENVFLOWCODE." blocks; print ""; next }
    code { print > file; next }
    /^```/ { code = 1; file = dir "/code." ++blocks; printf "" > file; next }
    /^\|/ {
      if (!intable) { intable = 1; ncols = cells($0, head); row = 0; print ""; next }
      if (++row == 1 && $0 ~ /^[|: -]+$/) next   # the |---| line under the header
      n = cells($0, cell)
      print cell[1]
      if (ncols <= 2) { print ": " cell[2] }
      else {
        sep = ": "
        for (i = 2; i <= n; i++) {
          if (cell[i] == "") continue
          printf "%s*%s*: %s", sep, head[i], cell[i]
          sep = "  \n"
        }
        print ""
      }
      print ""
      next
    }
    { intable = 0; print }'
}

# And after it:
# - text set ragged right and unhyphenated (.ad l, .nh; .TH undoes the .nh
#   go-md2man writes before it), as most generated pages have it: justified,
#   a long path or commit id in a narrow terminal can't be adjusted (a warning),
#   and "en-vflow" is no command;
# - NAME right after the title, in the form lexgrog (whatis, apropos) reads:
#   "name \- text", every "-" a real minus, "\" printed as itself;
# - for each character outside ASCII, a stand-in (.fchar, iconv's
#   transliteration) for devices without its glyph (groff's PostScript fonts
#   have no ✗ or ſ; -Tascii has none of them);
# - the code blocks, unfilled, as the text is: "\" printed as itself, "-" a
#   minus (options are typed), a line starting with "." or "'" no request;
# - go-md2man escapes a "." or "'" that starts a text, not one that starts a
#   later line of it (a wrapped "'quoted'" word): troff would take that line
#   for a request. MARK, put before such a line, becomes troff's \&.
mark=ENVFLOWZEROWIDTHMARK
finish() {
  local chars
  chars=$({ LC_ALL=C.UTF-8 grep -ohP '[^\x00-\x7F]' "$page" "$index" || true; } | sort -u |
    while IFS= read -r c; do
      fallback=$(LC_ALL=C.UTF-8 iconv -f UTF-8 -t ASCII//TRANSLIT <<<"$c" 2>/dev/null || echo '?')
      case $c in ✓) fallback=v ;; ✗) fallback=x ;; esac
      LC_ALL=C.UTF-8 printf '.fchar \\[u%04X] %s\n' "'$c" "$fallback"
    done)
  awk -v name="$name" -v summary="$summary" -v chars="$chars" -v dir="$tmp" -v mark="$mark" '
    function roff(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
    /^ENVFLOWCODE\.[0-9]+$/ {
      file = dir "/code." substr($0, 13)
      print ".RS"; print ".nf"
      while ((getline line < file) > 0) {
        line = roff(line)
        if (line ~ /^[.'"'"']/) line = "\\&" line
        print line
      }
      close(file)
      print ".fi"; print ".RE"
      next
    }
    { gsub(mark, "\\\\\\&"); print }
    /^\.TH / && !done {
      print ".ad l"; print ".nh"
      if (chars != "") print chars
      print ".SH NAME"; print roff(name) " \\- " roff(summary)
      done = 1
    }'
}

{
  printf '%% %s 1 "" "envflow %s" "envflow Manual"\n\n' "$name" "$version"
  printf '# SYNOPSIS\n'
  text=$(body)
  # The first code block, when the page starts with one, is its synopsis.
  if [ "$(grep -m1 -v '^$' <<<"$text")" = '```' ]; then
    awk 'f < 2 { print } /^```/ { f++ }' <<<"$text"
    printf '\n# DESCRIPTION\n'
    awk 'f >= 2 { print } /^```/ { f++ }' <<<"$text"
  else
    printf '```\n%s\n```\n\n# DESCRIPTION\n' "$(row_cell 1)"
    printf '%s\n' "$text"
  fi
  printf '\n# SEE ALSO\n'
  if [ "$base" = README ]; then
    for p in "$dir"/*.md; do
      b=$(basename "$p" .md)
      [ "$b" = README ] || printf '**envflow-%s**(1), ' "$b"
    done
    printf '**git**(1)\n\n'
  else
    printf '**envflow**(1)\n\n'
  fi
  printf 'The full documentation (concepts, CI, hooks, JSON output) is in '
  printf '/usr/share/doc/envflow/ (the docs/ folder of the source).\n'
} | prepare | sed -E "s/^([[:space:]]*)([.'])/\\1$mark\\2/" | "${GO_MD2MAN:-go-md2man}" | finish |
  gzip -9n >"$out"
