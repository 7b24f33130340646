#!/usr/bin/env bash
# The admin page's browser test (test/node/admin-page.browser.test.ts) drives Debian's chromium. Install it when it is
# missing and this user may (root, or sudo without a password); otherwise say so and go on: the test then fails with
# the same advice, it never passes without a browser.
set -uo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ]; then
  apt-get update && apt-get install -y chromium && exit 0
elif sudo -n true 2>/dev/null; then
  sudo apt-get update && sudo apt-get install -y chromium && exit 0
fi
echo "chromium is not installed and could not be installed here: run 'apt-get install -y chromium' as root" >&2
exit 0
