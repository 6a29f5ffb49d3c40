from services.signing.main import main

main()
