#!/bin/bash
# Builds cuda/target-bf16/java: a jlinked runtime, the jars and classes that Bf16AttentionTest needs, and the JUnit
# console launcher, for running the bf16 Java tests on the GPU machine (no Java there). Run from the repository
# root after `mvn -B -q -pl cuda -am install -DskipTests && mvn -B -q -pl cuda test-compile`.
set -e
J=cuda/target-bf16/java
rm -rf $J && mkdir -p $J/lib
M=~/.m2/repository
cp $M/org/junit/platform/junit-platform-console-standalone/1.13.4/junit-platform-console-standalone-1.13.4.jar \
   $M/org/jcuda/jcuda/12.6.0/jcuda-12.6.0.jar $M/org/assertj/assertj-core/3.27.7/assertj-core-3.27.7.jar \
   $M/net/jqwik/jqwik-api/1.9.3/jqwik-api-1.9.3.jar $M/org/apiguardian/apiguardian-api/1.1.2/apiguardian-api-1.1.2.jar \
   spec/target/swiattn-spec-1.0.0-SNAPSHOT.jar reference/target/swiattn-reference-1.0.0-SNAPSHOT.jar $J/lib/
# natives: only libJCudaDriver (the other libraries are dead weight here)
mkdir -p /tmp/jcn && (cd /tmp/jcn && rm -rf * && unzip -q $M/org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar \
  && find . -name '*.so' ! -name 'libJCudaDriver*' -delete && zip -qr /tmp/jcuda-natives-driver.jar .) && mv /tmp/jcuda-natives-driver.jar $J/lib/
cp -r cuda/target/classes $J/classes && cp -r cuda/target/test-classes $J/test-classes
rm -rf $J/test-classes/org/swiattn/cuda/properties
jlink --add-modules java.base,java.logging,jdk.unsupported,java.management --strip-debug --no-header-files \
  --no-man-pages --compress=2 --output $J/jre
du -sh $J $J/jre $J/lib
