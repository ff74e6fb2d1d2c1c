from dsnwatch.cli import main

main()
