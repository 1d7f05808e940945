#!/bin/bash
# placeholder, replaced below
exit 77
