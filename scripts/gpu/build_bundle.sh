#!/usr/bin/env bash
# Builds bundle/ (git-ignored), everything the GPU machine needs to run the project without Java or Maven there:
#   bundle/jre/           jlinked Java 17 runtime (modules found by jdeps)
#   bundle/swiattn.jar    the swiattn command (fat jar) with the CUDA fatbins; JCuda natives stripped to the driver
#                         binding (the 24 MB PTX-compiler binding is dead weight there)
#   bundle/test-classes/  the cuda module's test classes (kernel equivalence, device tests, goldens, property suite
#                         on CUDA fp64 / fp32 / bf16)
#   bundle/lib/           their test dependencies (properties suite, jqwik, assertj)
#   bundle/junit.jar      JUnit console launcher (runs jqwik and Jupiter tests without Maven)
# Builds through the reactor (package, no install: ~/.m2 is left alone). Needs JDK 17 (jlink, jdeps), Maven and
# nvcc (the kernels are compiled here, at build time). Prints the size: keep it under 64 MiB for GPU machines that
# take at most that beside the ~33 MB tracked tree; --xz also writes target/bundle.tar.xz (about 27 MB; on the
# GPU machine: tar -xJf target/bundle.tar.xz).
# Usage: scripts/gpu/build_bundle.sh [--offline] [--xz]   (from anywhere)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
command -v nvcc >/dev/null || { echo "build_bundle: nvcc is needed to compile the kernels" >&2; exit 2; }
mvnopts=(-B -q)
xz=0
for a in "$@"; do
  case "$a" in
    --offline) mvnopts+=(-o) ;;
    --xz) xz=1 ;;
    *) echo "build_bundle: unknown option '$a' (expected --offline or --xz)" >&2; exit 2 ;;
  esac
done
# 1. every module of the command and its tests, in one reactor run; each module's test classpath to target/cp.txt
mvn "${mvnopts[@]}" -pl cli -am package -DskipTests dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/cp.txt
rm -rf bundle && mkdir -p bundle/lib
cp cli/target/swiattn.jar bundle/swiattn.jar
zip -q -d bundle/swiattn.jar 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' 'lib/libJCudaRuntime-*' || true
# 2. test classes and the test-only dependencies (the fat jar already holds the main ones; JUnit comes with the
#    launcher; AssertJ's optional byte-buddy (soft assertions) is left out)
cp -r cuda/target/test-classes bundle/test-classes
tr ':' '\n' < cuda/target/cp.txt | grep -E '/(swiattn-properties|jqwik[^/]*|assertj-core)[^/]*\.jar$' \
  | grep -v -E '/junit-' | while read -r j; do cp "$j" bundle/lib/; done
# 3. JUnit console launcher
mvn "${mvnopts[@]}" dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 \
  -DoutputDirectory="$root/bundle" -Dmdep.stripVersion=true
mv bundle/junit-platform-console-standalone.jar bundle/junit.jar
# 4. the runtime: modules of every jar, plus what the test runners use
#    (jdeps reads the fat jar; it cannot parse the jqwik jars, whose needs are the fixed list)
#    java.desktop (Jackson's optional java.beans use, 15 MB) is left out to stay under 64 MiB
mods=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 bundle/swiattn.jar | sed 's/,java.desktop//')
mods="$mods,java.logging,java.management,java.instrument,jdk.unsupported,java.naming,jdk.zipfs"
#    With --xz the runtime is left uncompressed and libjvm's symbol table stripped, so xz packs it (12 MB instead
#    of 20 MB: the golden tree and the archive travel together under 64 MiB)
jlink --add-modules "$mods" --strip-debug --no-header-files --no-man-pages --compress=$(( xz ? 0 : 2 )) \
  --output bundle/jre
if (( xz )) && command -v strip >/dev/null; then strip --strip-unneeded bundle/jre/lib/server/libjvm.so; fi
echo "bundle: modules $mods"
du -sh bundle bundle/* | sed 's/^/bundle size: /'
if (( xz )); then
  mkdir -p target
  tar -cJf target/bundle.tar.xz bundle
  ls -la target/bundle.tar.xz | sed 's/^/bundle archive: /'
fi
