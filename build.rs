//! Compiles the BPF program and generates its libbpf-rs skeleton.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SRC: &str = "src/bpf/tracer.bpf.c";

fn main() {
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("tracer.skel.rs");
    SkeletonBuilder::new()
        .source(SRC)
        .clang_args(["-Wall", "-Werror", "-Isrc/bpf"])
        .build_and_generate(&out)
        .expect("building the BPF program (needs clang: run scripts/install-deps.sh)");
    for file in [
        SRC,
        "src/bpf/tracer.h",
        "src/bpf/commands.bpf.h",
        "src/bpf/scope.bpf.h",
        "src/bpf/lineage.bpf.h",
        "src/bpf/failed_exec.bpf.h",
        "src/bpf/vmlinux.h",
    ] {
        println!("cargo:rerun-if-changed={file}");
    }
}
