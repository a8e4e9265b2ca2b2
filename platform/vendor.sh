#!/usr/bin/env bash
# Copy the front-end assets from node_modules (the npm registry) into static/vendor/, which is committed:
# the platform serves every asset itself and never loads one from a CDN. Run after changing package.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
rm -rf "$out" && mkdir -p "$out/tabler" "$out/tabler-icons/fonts" "$out/htmx" "$out/chartjs"
cp node_modules/@tabler/core/dist/css/tabler.min.css "$out/tabler/"
cp node_modules/@tabler/core/dist/js/tabler.min.js "$out/tabler/"
cp node_modules/@tabler/icons-webfont/dist/tabler-icons.min.css "$out/tabler-icons/"
cp node_modules/@tabler/icons-webfont/dist/fonts/tabler-icons.woff2 "$out/tabler-icons/fonts/"
# Only the woff2 face is shipped: every browser Tranche supports reads it.
sed -i -E 's#,url\("\./fonts/tabler-icons\.woff\?[^)]*\) format\("woff"\),url\("\./fonts/tabler-icons\.ttf\?[^)]*\) format\("truetype"\)##' \
  "$out/tabler-icons/tabler-icons.min.css"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/chartjs/" 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js "$out/chartjs/chart.umd.min.js"
mkdir -p "$out/ethers" && cp node_modules/ethers/dist/ethers.umd.min.js "$out/ethers/"  # the development wallet signs with it
# The packages' source maps are not shipped; drop the comments that point at them (collectstatic checks them).
find "$out" -name '*.js' -o -name '*.css' | xargs sed -i -E 's@/[/*]# sourceMappingURL=[^ *]*( \*/)?@@'
for pkg in @tabler/core @tabler/icons-webfont htmx.org chart.js; do
  node -e "const p=require('./node_modules/$pkg/package.json');console.log(p.name+' '+p.version+' '+(p.license||''))"
done > "$out/VERSIONS.txt"
node -e "const p=require('./node_modules/ethers/package.json');console.log(p.name+' '+p.version+' '+p.license)" >> "$out/VERSIONS.txt"
echo "vendored into $out:"; cat "$out/VERSIONS.txt"
