/*
 * Linked into the Linux prebuilds only (scripts/linux/build.mjs), never into
 * a from-source build. The static libstdc++ of Debian's g++ was built
 * against glibc 2.36 and reads __libc_single_threaded (glibc 2.32) to skip
 * atomic reference counting in a single-threaded process. The prebuilds
 * link against glibc 2.17, which lacks it, so this private copy answers
 * "not single-threaded": the atomic path, always correct (and always the
 * case in Node, which runs threads of its own from the start).
 */
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
