#!/usr/bin/env bash
# Builds cuda/target-bf16/bundle (git-ignored: .git/info/exclude has /cuda/target-bf16/), what the GPU machine needs
# to run the bf16 tests, the property suite on bf16, the golden cases and `swiattn bench --dtype bf16 --peers`
# without Java or Maven there (scripts/gpu/build_bundle.sh's recipe, in a folder of its own so the cuda helper's
# bundle/ is left alone):
#   jre/           jlinked Java 17 runtime          swiattn.jar   the fat jar (CLI, cuda, golden, kernels)
#   test-classes/  the cuda module's test classes    lib/          properties suite, jqwik, assertj
#   junit.jar      JUnit console launcher
# Needs JDK 17, Maven and nvcc. Run from anywhere. The device tool carries at most 64 MiB including the working tree
# (about 22 MB with the committed golden files), so the carried form is cuda/target-bf16/bundle.tar.xz (about 33 MB,
# libjvm.so stripped); run_bf16_gpu.sh unpacks it there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../../.." && pwd)"
cd "$root"
B=cuda/target-bf16/bundle
command -v nvcc >/dev/null || { echo "build_bundle_bf16: nvcc is needed to compile the kernels" >&2; exit 2; }
mvn -B -q -o -pl cli,cuda -am install -DskipTests
mvn -B -q -o -pl cuda test-compile
rm -rf "$B" && mkdir -p "$B/lib"
cp cli/target/swiattn.jar "$B/swiattn.jar"
zip -q -d "$B/swiattn.jar" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' 'lib/libJCudaRuntime-*' || true
cp -r cuda/target/test-classes "$B/test-classes"
mvn -B -q -o -pl cuda dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$root/$B/cp.txt"
tr ':' '\n' < "$B/cp.txt" | grep -E '/(swiattn-properties|jqwik[^/]*|assertj-core)[^/]*\.jar$' \
  | grep -v -E '/junit-' | while read -r j; do cp "$j" "$B/lib/"; done
rm "$B/cp.txt"
cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.13.4/junit-platform-console-standalone-1.13.4.jar \
  "$B/junit.jar"
mods=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 "$B/swiattn.jar" | sed 's/,java.desktop//')
mods="$mods,java.logging,java.management,java.instrument,jdk.unsupported,java.naming,jdk.zipfs"
jlink --add-modules "$mods" --strip-debug --no-header-files --no-man-pages --compress=2 --output "$B/jre"
strip --strip-unneeded "$B/jre/lib/server/libjvm.so"
du -sh "$B" "$B"/* | sed 's/^/bundle size: /'
(cd cuda/target-bf16 && tar -cf - bundle | xz -T2 -6 > bundle.tar.xz)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
total=$(( $(stat -c %s cuda/target-bf16/bundle.tar.xz) + tree ))
echo "carried: bundle.tar.xz + working tree = $total bytes"
if (( total > 63 * 1024 * 1024 )); then echo "bundle: too close to the 64 MiB carry limit" >&2; exit 1; fi
