#!/usr/bin/env bash
# man-page.sh PAGE.md OUT VERSION: writes OUT, the gzip'd man page of
# docs/commands/PAGE.md, rendered by go-md2man. README.md (the command index)
# becomes envflow(1), NAME.md becomes envflow-NAME(1). The pages stay plain
# Markdown for the web; this adds what a man page has on top:
# - NAME from the page's line in README.md's table (envflow(1): fixed),
# - SYNOPSIS from the page's first code block (else the table's command),
# - "## Heading" as a man section (upper case), links as their text,
# - SEE ALSO: envflow(1) and the Markdown pages of the installed docs.
set -euo pipefail
page=$1 out=$2 version=$3
dir=$(dirname "$page")
base=$(basename "$page" .md)
index="$dir/README.md"

# The table row of a command page: | [`envflow sync ENV …`](sync.md) | Promote … |
row_cell() { # row_cell N: cell N (1 = command, 2 = description) of the page's row
  grep -F "](${base}.md) |" "$index" | head -1 |
    sed -E 's/^\| \[`([^`]*)`\]\([^)]*\) \| (.*) \|$/\1\t\2/' | cut -f"$1"
}
if [ "$base" = README ]; then
  name=envflow
  summary="a content-as-code release pipeline on plain git"
else
  name="envflow-$base"
  summary=$(row_cell 2)
  [ -n "$summary" ] || { echo "man-page.sh: $base.md has no line in $index" >&2; exit 1; }
fi
# Markdown that is not man-page text: links become their text (URLs kept), and
# a description's first letter goes lower case, as man pages have it.
summary=$(sed -E 's/\[([^]]*)\]\(([^)]*)\)/\1/g; s/`//g; s/^(.)/\L\1/' <<<"$summary")

# go-md2man 2.0.2 writes a table cell as a text block (T{ … T}, which wraps)
# only when its plain text is over 30 characters (code spans do not count:
# so table rows lose their backticks above), and ends a text block with a
# newline that breaks its row in two; and tbl sizes columns by their widest
# line. So: rows mended, and the column with the most text expands ("x") to
# the line width, the others wrap around it.
fix_tables() {
  sed -E ':a;/^T\}$/{N;s/^T\}\n\t/T}\t/;ta;P;D}' | awk '
    function flush(   i, best, fmt) {
      best = 1
      for (i = 2; i <= ncols; i++) if (size[i] > size[best]) best = i
      for (i = 1; i <= nfmt; i++) {
        fmt = fmtline[i]
        # "l l l ." or "l l l": the best column gets the x.
        n = split(fmt, f, " ")
        out = ""
        for (j = 1; j <= n; j++) out = out (j > 1 ? " " : "") f[j] (j == best ? "x" : "")
        print out
      }
      for (i = 1; i <= nbody; i++) print body[i]
    }
    function cells(s,   n, k, f) {
      n = split(s, f, "\t")
      for (k = 1; k <= n; k++) {
        if (k > 1) col++
        if (col > ncols) ncols = col
        if (f[k] == "T{") inblock = 1
        else size[col] += length(f[k])
      }
    }
    /^\.TS/ { print; intable = 1; informat = 1; nfmt = nbody = ncols = 0; delete size; next }
    intable && informat && /;$/ { print; next }
    intable && informat { fmtline[++nfmt] = $0; if ($0 ~ /\.$/) informat = 0; next }
    intable && /^\.TE/ { flush(); print; intable = 0; next }
    intable {
      body[++nbody] = $0
      if (inblock) {
        if ($0 ~ /^T\}/) { inblock = 0; cells(substr($0, 3)) } else size[col] += length($0)
      } else { col = 1; cells($0) }
      next
    }
    { print }'
}

body() { # the page without its title, links as text, ## headings as sections
  sed -E '1{/^# /d}' "$page" | sed -E '
    /^```/,/^```/b
    s/\[(`[^`]*`)\]\([^)]*\)/\1/g
    s/\[([^]]*)\]\((https?:[^)]*)\)/\1 <\2>/g
    s/\[([^]]*)\]\([^)]*\)/\1/g
    s/^## (.*)$/# \U\1/'
}

{
  printf '%% %s 1 "" "envflow %s" "envflow Manual"\n\n' "$name" "$version"
  printf '# NAME\n%s - %s\n\n' "$name" "$summary"
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
} | sed -E '/^\|/s/`//g' | go-md2man | fix_tables | gzip -9n >"$out"
