package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// lighthouseScore is one page's line from scripts/lighthouse.sh.
type lighthouseScore struct {
	URL           string   `json:"url"`
	Performance   int      `json:"performance"`
	Accessibility int      `json:"accessibility"`
	BestPractices int      `json:"best_practices"`
	FCP           int      `json:"fcp_ms"`
	LCP           int      `json:"lcp_ms"`
	TBT           int      `json:"tbt_ms"`
	CLS           float64  `json:"cls"`
	Short         []string `json:"short"`
	Console       []string `json:"console,omitempty"`
}

// lighthouse runs Lighthouse (mobile preset) on the hub and on caseHref,
// signed in, against the server as configured, and returns the scores by
// page with whether they meet issue 13's goals (performance >= 95,
// accessibility and best practices 100).
func (b *webBench) lighthouse(ctx context.Context, caseHref string) (map[string]any, error) {
	if caseHref == "" {
		return nil, errors.New("lighthouse: the hub lists no case to open")
	}
	dir := b.cfg.LighthouseOut
	if dir == "" {
		tmp, err := os.MkdirTemp("", "portico-lighthouse-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	pages := []struct{ name, path string }{{"hub", "/"}, {"case", caseHref}}
	args := []string{dir, b.cookie}
	for _, p := range pages {
		args = append(args, b.hubURL+p.path)
	}
	fmt.Fprintf(b.out.Stdout, "lighthouse (mobile preset) on %s and %s\n", pages[0].path, pages[1].path)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, b.cfg.LighthouseScript, args...)
	cmd.Stdout, cmd.Stderr = &stdout, b.out.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lighthouse: %s: %w", b.cfg.LighthouseScript, err)
	}
	out := map[string]any{"version": "12.2.3", "preset": "mobile"}
	met := true
	sc := bufio.NewScanner(&stdout)
	for i := 0; sc.Scan(); i++ {
		var s lighthouseScore
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil || i >= len(pages) {
			return nil, fmt.Errorf("lighthouse: unexpected line %q", sc.Text())
		}
		if strings.Contains(s.URL, "/sign-in") {
			return nil, fmt.Errorf("lighthouse: %s was not signed in (it landed on %s)", pages[i].path, s.URL)
		}
		fmt.Fprintf(b.out.Stdout, "  %-5s performance %3d  accessibility %3d  best practices %3d  (FCP %d ms, LCP %d ms, TBT %d ms, CLS %.3f)\n",
			pages[i].name, s.Performance, s.Accessibility, s.BestPractices, s.FCP, s.LCP, s.TBT, s.CLS)
		if len(s.Short) > 0 {
			fmt.Fprintf(b.out.Stdout, "        short of full marks: %s\n", strings.Join(s.Short, ", "))
		}
		for _, c := range s.Console {
			fmt.Fprintf(b.out.Stdout, "        console: %s\n", c)
		}
		out[pages[i].name] = s
		met = met && s.Performance >= 95 && s.Accessibility == 100 && s.BestPractices == 100
	}
	if _, ok := out["case"]; !ok {
		return nil, errors.New("lighthouse: the script printed no score for the case page")
	}
	out["goal_met"] = met
	return out, nil
}
