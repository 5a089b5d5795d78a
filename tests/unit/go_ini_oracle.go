// go-ini-oracle: what gopkg.in/ini.v1 (Debian's golang-gopkg-ini.v1-dev,
// the library Grafana and Gitea read their INI files with) makes of a
// document, for tests/test_go_ini.py. One JSON array a line on stdin:
// [kind, document (base64), section, option]; kind "G" loads the way
// Grafana does (ini.Load, go-ini's defaults), "g" the way Gitea does
// (IgnoreContinuation). One line out: "F <hex of the value>", "A" (no
// such section or option) or "M <error>".
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/ini.v1"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var rec []string
		if err := json.Unmarshal(in.Bytes(), &rec); err != nil || len(rec) != 4 {
			fmt.Fprintln(os.Stderr, "go-ini-oracle: bad record")
			os.Exit(2)
		}
		doc, err := base64.StdEncoding.DecodeString(rec[1])
		if err != nil {
			os.Exit(2)
		}
		var f *ini.File
		if rec[0] == "G" {
			f, err = ini.Load(doc)
		} else {
			f, err = ini.LoadSources(ini.LoadOptions{KeyValueDelimiterOnWrite: " = ",
				IgnoreContinuation: true}, doc)
		}
		if err != nil {
			fmt.Fprintf(out, "M %q\n", err.Error())
			continue
		}
		sec, err := f.GetSection(rec[2])
		if err != nil || !sec.HasKey(rec[3]) {
			fmt.Fprintln(out, "A")
			continue
		}
		fmt.Fprintf(out, "F %s\n", hex.EncodeToString([]byte(sec.Key(rec[3]).String())))
	}
}
