// A stand-in for `helm template` where no helm binary can be had (this machine): the same Go
// text/template engine and the same sprig function library that helm uses, plus helm's own
// functions (include, tpl, required, toYaml, fromYaml, toJson, lookup). It renders the chart's
// templates with values.yaml coalesced with -f files, in strict mode (a missing key is an error,
// as with `helm lint --strict`). It is not helm: no hooks ordering, no schema validation (the
// tests do that), no subcharts. The chart tests use real helm whenever it is on PATH.
//
// Build (GOPATH mode, Debian's packaged sources):
//   apt-get install golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o render .
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// apiVersions answers .Capabilities.APIVersions.Has like helm's VersionSet.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func readYaml(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	// ghodss/yaml goes through JSON, as helm's sigs.k8s.io/yaml does: numbers become float64.
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// coalesce merges src over dst the way helm merges user values over the chart's: maps deep,
// everything else replaced, null deletes the key.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		dm, dok := dst[k].(map[string]interface{})
		sm, sok := sv.(map[string]interface{})
		if dok && sok {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

func toYaml(v interface{}) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func main() {
	var vals valueFiles
	name := flag.String("name", "sker", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	flag.Var(&vals, "f", "values file (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render [-name N] [-namespace NS] [-f values.yaml]... CHART_DIR")
		os.Exit(2)
	}
	chartDir := flag.Arg(0)
	if err := run(chartDir, *name, *namespace, vals); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(chartDir, name, namespace string, vals []string) error {
	chartMeta, err := readYaml(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYaml(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range vals {
		user, err := readYaml(f)
		if err != nil {
			return err
		}
		values = coalesce(values, user)
	}
	chartName, _ := chartMeta["name"].(string)
	chart := map[string]interface{}{}
	for k, v := range chartMeta {
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}

	chartFiles := files{}
	_ = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(chartDir, p)
			if !strings.HasPrefix(rel, "templates/") {
				chartFiles[rel], _ = os.ReadFile(p)
			}
		}
		return nil
	})

	var paths []string
	_ = filepath.Walk(filepath.Join(chartDir, "templates"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)

	root := template.New("gotpl").Option("missingkey=error")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includeDepth := 0
	funcs["include"] = func(tname string, data interface{}) (string, error) {
		includeDepth++
		defer func() { includeDepth-- }()
		if includeDepth > 100 {
			return "", errors.New("include: too deep (recursion?)")
		}
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, tname, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["toYaml"] = toYaml
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["toJson"] = func(v interface{}) string {
		out, _ := json.Marshal(v)
		return string(out)
	}
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	root.Funcs(funcs)

	for _, p := range paths {
		rel, _ := filepath.Rel(chartDir, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := root.New(chartName + "/" + rel).Parse(string(raw)); err != nil {
			return err
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31", "GitVersion": "v1.31.0"},
			"APIVersions": apiVersions{"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"},
		},
		"Files": chartFiles,
	}

	var out strings.Builder
	for _, p := range paths {
		rel, _ := filepath.Rel(chartDir, p)
		base := filepath.Base(rel)
		if strings.HasPrefix(base, "_") {
			continue
		}
		tname := chartName + "/" + rel
		scope := map[string]interface{}{}
		for k, v := range top {
			scope[k] = v
		}
		scope["Template"] = map[string]interface{}{"Name": tname, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, scope); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		// NOTES.txt is rendered (so its errors show) but, as with helm template, not printed.
		if strings.HasSuffix(base, ".txt") || strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, strings.TrimSpace(text))
	}
	fmt.Print(out.String())
	return nil
}
