#!/bin/sh
# democli's BROWSER hook in the end-to-end tests: instead of opening a browser, append
# the URL to $E2E_URL_FILE, which the test watches and opens in its own Chromium.
set -eu
printf '%s\n' "$1" >> "$E2E_URL_FILE"
