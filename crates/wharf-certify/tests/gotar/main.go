// Lists tar archives the way container runtimes read them: with Go's archive/tar,
// which containerd, Docker, CRI-O and Podman (through tar-split) unpack layers with.
// The differential test (tests/differential.rs) compares this listing with
// wharf-certify's reader, line for line.
//
// Usage: gotar FILE...   For each file: "FILE <path>", one "E ..." line per entry
// (names and strings in hex, the data's SHA-256 as read, holes as zeros), then
// "END ok" or "END error <message>". gzip input (1f 8b) is decompressed first, as
// the runtimes do (multistream).
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func list(w *bufio.Writer, path string) {
	fmt.Fprintf(w, "FILE %s\n", path)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(w, "END error %v\n", err)
		return
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			fmt.Fprintf(w, "END error %v\n", err)
			return
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			fmt.Fprintf(w, "END ok\n")
			return
		}
		if err != nil {
			fmt.Fprintf(w, "END error %v\n", err)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, tr)
		if err != nil {
			fmt.Fprintf(w, "END error %v\n", err)
			return
		}
		keys := make([]string, 0, len(hdr.Xattrs))
		for k := range hdr.Xattrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		xattrs := make([]string, 0, len(keys))
		for _, k := range keys {
			xattrs = append(xattrs, hex.EncodeToString([]byte(k))+"="+hex.EncodeToString([]byte(hdr.Xattrs[k])))
		}
		fmt.Fprintf(w, "E %d name=%s link=%s size=%d mode=%d uid=%d gid=%d uname=%s gname=%s dev=%d,%d xattrs=[%s] data=%d sha256=%s\n",
			hdr.Typeflag,
			hex.EncodeToString([]byte(hdr.Name)),
			hex.EncodeToString([]byte(hdr.Linkname)),
			hdr.Size, hdr.Mode, hdr.Uid, hdr.Gid,
			hex.EncodeToString([]byte(hdr.Uname)),
			hex.EncodeToString([]byte(hdr.Gname)),
			hdr.Devmajor, hdr.Devminor,
			strings.Join(xattrs, ","),
			n, hex.EncodeToString(h.Sum(nil)))
	}
}

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, path := range os.Args[1:] {
		list(w, path)
	}
}
