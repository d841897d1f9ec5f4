// Package pagetest renders an HTML report in headless Chromium for tests:
// the DOM Chromium built from the file (--dump-dom) and a screenshot, so a
// test checks what a person opening the page would see.
//
// Chromium is /usr/bin/chromium (Debian's chromium package; `make
// html-test` installs it when missing) or $PENDULUM_CHROMIUM. A test that
// needs it fails when it is absent, unless PENDULUM_HTML_TEST=skip-if-absent
// says it may skip; `make html-test` sets PENDULUM_HTML_TEST=require.
package pagetest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// EnvVar says whether a test may skip when Chromium is absent:
// "skip-if-absent" lets it; anything else ("require", or unset) does not.
const EnvVar = "PENDULUM_HTML_TEST"

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// Chromium returns the browser's path, or ends the test: skipped when it
// is absent and EnvVar allows that, failed otherwise.
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("PENDULUM_CHROMIUM")
	if path == "" {
		path = DefaultChromium
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if os.Getenv(EnvVar) == "skip-if-absent" {
		t.Skipf("headless Chromium is not installed at %s: skipped (%s=skip-if-absent); `make html-test` installs it (apt-get install -y chromium) and runs this test", path, EnvVar)
	}
	t.Fatalf("headless Chromium is not installed at %s: this test renders the HTML report in it. Install it with `apt-get install -y chromium` "+
		"(or run `make html-test`, which does), point PENDULUM_CHROMIUM at a Chromium binary, or set %s=skip-if-absent to skip", path, EnvVar)
	return ""
}

// run runs Chromium headless on file with extra flags and returns stdout.
func run(t testing.TB, chromium, file string, flags ...string) []byte {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
		// The page must need nothing from the network: Chromium is kept
		// off it, so a fetch would show as a missing part of the page.
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--user-data-dir=" + t.TempDir(),
	}, flags...)
	args = append(args, "file://"+abs)
	cmd := exec.CommandContext(ctx, chromium, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, stderr.String())
	}
	return stdout.Bytes()
}

// DumpDOM returns the DOM Chromium built from the HTML file, serialized.
func DumpDOM(t testing.TB, chromium, file string) string {
	t.Helper()
	return string(run(t, chromium, file, "--dump-dom"))
}

// Screenshot renders the file in a window of width × height and returns
// the image.
func Screenshot(t testing.TB, chromium, file string, width, height int) image.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "page.png")
	run(t, chromium, file, "--screenshot="+out, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height))
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	return img
}

// Luminance returns the mean and variance of the image's pixel luminance
// (0…255): a blank page has a variance of about 0.
func Luminance(img image.Image) (mean, variance float64) {
	b := img.Bounds()
	n := float64(b.Dx() * b.Dy())
	if n == 0 {
		return 0, 0
	}
	var sum, sq float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 257
			sum += l
			sq += l * l
		}
	}
	mean = sum / n
	return mean, sq/n - mean*mean
}

// DistinctColors counts the distinct colours in the image (at most limit).
func DistinctColors(img image.Image, limit int) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			if len(seen) >= limit {
				return limit
			}
		}
	}
	return len(seen)
}
