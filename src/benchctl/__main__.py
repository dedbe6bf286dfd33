from benchctl.cli import main

raise SystemExit(main())
